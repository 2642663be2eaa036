"""Fixtures for the SQL Server engine tests.

``odbc_pg``: an ODBC connection string to a throwaway PostgreSQL (tests/close/pg.py) through the
Debian driver 'PostgreSQL Unicode'. PostgreSQL does not speak T-SQL, so those tests run the
engine with ``dialect="postgres"``: the driver, the ``?`` parameters, Decimal, the binding and its
quoting, and temporary tables are the code SQL Server uses; only the rendered text differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "close"))

from pg import pg_url  # noqa: E402,F401  (a fixture: importing it makes it visible here)


@pytest.fixture(scope="session")
def odbc_pg(pg_url: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    # BoolsAsChar=0: booleans come back as SQL_BIT (Python bool), as SQL Server's bit does.
    return (f"DRIVER={{PostgreSQL Unicode}};SERVER={url.host};PORT={url.port};DATABASE={url.database};"
            f"UID={url.username};BoolsAsChar=0")
