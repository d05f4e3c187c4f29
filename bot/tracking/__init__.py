"""The MLflow adapter (the only code that imports mlflow) and its pure helpers."""
