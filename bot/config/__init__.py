"""Repository configuration: the schema and its YAML reader."""
