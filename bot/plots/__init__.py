"""Charts as PNG bytes: metric comparison, training curves, the runs' own images."""
