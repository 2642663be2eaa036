"""A stand-in for ``pyodbc.connect`` and a SQL Server 2019 behind it, for the Secrets Manager
tests: it accepts one password (which a test rotates), answers the version check, the period
and scope checks and CR_04 by the shape of the statement, records every connection attempt and
statement, and refuses everything else as SQL Server would refuse an unknown statement."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pyodbc

LOGIN_FAILED = "[28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user '{user}'. (18456)"
_KEY = re.compile(r"(?:^|;)\s*([A-Za-z]+)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)")


def odbc_pairs(text: str) -> dict[str, str]:
    out = {}
    for m in _KEY.finditer(text):
        value = m.group(2)
        if value.startswith("{"):
            value = value[1:-1].replace("}}", "}")
        out[m.group(1).upper()] = value
    return out


def desc(name: str, code, precision: int = 0, scale: int = 0) -> tuple:
    return (name, code, None, None, precision, scale, True)


CR04 = ([desc("company_id", str), desc("closing_date", date), desc("gl_account_no", str), desc("currency", str),
         desc("balance_lcy", Decimal, 18, 2), desc("refreshed_at", datetime)],
        [("EC_NG", date(2025, 9, 30), "13003", "NGN", Decimal("250.10"), datetime(2025, 10, 1, 2)),
         ("EC_NG", date(2025, 9, 30), "18412", "NGN", Decimal("-1500.00"), datetime(2025, 10, 1, 2))])
PERIOD = ([desc("first", date), desc("last", date), desc("at_cutoff", int)], [(date(2025, 8, 31), date(2025, 9, 30), 2)])
SCOPE = ([desc("company_id", str)], [("EC_NG",), ("JM_EG",)])


class Cursor:
    def __init__(self, server: "Server"):
        self.server, self.fast_executemany = server, False
        self.description, self._rows, self._row = None, [], None

    def execute(self, sql: str, *params):
        self.server.statements.append(sql)
        self.description, self._rows, self._row = None, [], None
        if "SERVERPROPERTY" in sql:
            self._row = ("15.0.4345.5", 3)
        elif "@@VERSION" in sql:
            self._row = ("Microsoft SQL Server 2019 (RTM-CU22) - 15.0.4345.5 (X64)",)
        elif sql.startswith(("CREATE", "DROP")):
            pass
        elif "at_cutoff" in sql:
            self.description, self._rows = PERIOD[0], list(PERIOD[1])
        elif "in_conso_scope" in sql:
            self.description, self._rows = SCOPE[0], list(SCOPE[1])
        elif "refreshed_at" in sql and "gl_balances" in sql and "#" not in sql:
            self.description, self._rows = CR04[0], list(CR04[1])
        else:
            raise pyodbc.ProgrammingError("42000", "[42000] [Microsoft][SQL Server]Incorrect syntax (stand-in)")
        return self

    def executemany(self, sql: str, rows) -> None:
        self.server.statements.append(sql)

    def fetchone(self):
        return self._row

    def fetchval(self):
        return self._row[0] if self._row else None

    def fetchmany(self, n: int):
        taken, self._rows = self._rows[:n], self._rows[n:]
        return taken

    def close(self) -> None:
        pass


class Connection:
    def __init__(self, server: "Server"):
        self.server, self.timeout, self.closed = server, 0, False

    def cursor(self) -> Cursor:
        return Cursor(self.server)

    def getinfo(self, what):
        return "15.00.4345"

    def close(self) -> None:
        self.closed = True


@dataclass
class Server:
    """``password``: the one it accepts now; ``attempts``: each connection string it was given."""

    user: str
    password: str
    attempts: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    def connect(self, text: str, **_):
        self.attempts.append(text)
        pairs = odbc_pairs(text)
        if pairs.get("UID") != self.user or pairs.get("PWD") != self.password:
            raise pyodbc.InterfaceError("28000", LOGIN_FAILED.format(user=pairs.get("UID")))
        return Connection(self)

    def passwords_tried(self) -> list[str | None]:
        return [odbc_pairs(a).get("PWD") for a in self.attempts]
