"""``pg_url``: the real PostgreSQL server of the close tests (tests/close/pg.py), for the
sign-off and local-user tables on PostgreSQL."""

from close.pg import pg_url  # noqa: F401  (a fixture)
