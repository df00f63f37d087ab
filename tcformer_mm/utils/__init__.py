"""Glue for the command-line tools (config loading, launcher options)."""
