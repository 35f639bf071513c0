"""Pydantic models: the language of the system. No I/O here; workflows import these."""
