"""Composition root and command line: builds every object and owns its lifetime."""
