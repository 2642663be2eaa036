"""Fixtures for the close tests. ``pg_url`` (tests/close/pg.py) is a real PostgreSQL server on
loopback, started once per session and only when a test asks for it."""

from pg import pg_url  # noqa: F401  (a fixture: importing it here makes it visible to tests/close)
