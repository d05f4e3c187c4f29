"""Rendering a review to markdown and HTML (the Jinja2 templates live in templates/)."""
