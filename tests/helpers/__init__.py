"""Builders and fixtures shared by the tests of several folders (one module per codebase)."""
