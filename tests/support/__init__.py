"""Reusable helpers for the tests: running the sandbox and comparing responses with recorded fixtures."""
