"""Alembic scripts of the staging schema (``env.py``, ``versions/``); run them through ``staging.migrate``."""
