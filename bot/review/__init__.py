"""The pure review pipeline: references, runs, baseline, diffs, gate, reviewers."""
