"""The GitHub adapter (the only code that talks to GitHub) and its pure helpers."""
