"""The pre-flight: the source contract checked on the tables a command reads, before it writes
anything (a run record, a lock, an evidence package, an extract).

Without it, data that breaks the contract flows through the catalog's SQL unnoticed: a NULL
``company_id`` drops a row out of its entity, a duplicate company doubles its figures, a fourth
decimal is rounded away by the cast to DECIMAL(18,2), a float file among decimal files is read
as floats; and every line can still come out RECONCILED. ``close``, ``extract``,
``extract-all``, ``validate`` and ``recon`` therefore run ``preflight`` first: it is
``lake check`` (``check.check_tables``, one implementation) restricted to the tables the
command's catalog items read, and a breach raises ``LakeContractError`` (exit 3).

A table whose folder is missing or holds no file is left to the step that reads it: it fails
that step with its own error (a close records it, and ``--resume`` retries it once the table is
loaded), so the pre-flight does not refuse a whole run for it. Only lakes of files can be
checked this way (a duckdb binding); for Athena and SQL Server bindings the result says it
checked nothing, and the commands print that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

import sqlglot
from sqlglot import exp

from ..errors import LakeContractError
from .binding import Binding
from .check import check_tables
from .contract import contract

# Every command resolves the period (``nav.gl_balances``) and the entities in scope
# (``ref.companies``) before it extracts anything.
ALWAYS = ("ref.companies", "nav.gl_balances")


@dataclass(frozen=True)
class PreflightResult:
    command: str
    tables: tuple[str, ...]  # the tables checked
    files: int = 0
    rows: int = 0
    seconds: float = 0.0
    absent: tuple[str, ...] = ()  # tables without files: left to the steps that read them
    skipped: str | None = None  # why nothing could be checked

    def __str__(self) -> str:
        if self.skipped:
            return f"pre-flight of {self.command}: not run: {self.skipped}"
        text = (f"pre-flight: {len(self.tables)} tables, {self.files:,} files, {self.rows:,} rows satisfy the "
                f"source contract ({self.seconds:.1f}s)")
        if self.absent:
            text += f"; no files for {', '.join(self.absent)} (left to the steps that read them)"
        return text


def tables_read(items: Iterable, catalog=None) -> tuple[str, ...]:
    """The logical tables that catalog items read (their queries and their tests' source
    queries), plus ``ALWAYS``; in the contract's order. ``items`` are ``catalog.ItemSpec``; with
    their ``catalog``, the items their cross-source tests compare them with count too (they are
    extracted to test them)."""
    items = list(items)
    if catalog is not None:
        items += [catalog.item(o) for i in items for o in i.compared_with]
    known = set(contract().names)
    names = set(ALWAYS)
    for item in items:
        queries = [item.query] if item.query is not None else []
        queries += [sqlglot.parse_one(str(r.get("sql")), read="trino") for r in item.tests if r.get("sql")]
        for query in queries:
            for t in query.find_all(exp.Table):
                name = f"{t.db}.{t.name}"
                if t.db and not t.catalog and name in known:
                    names.add(name)
    return tuple(n for n in contract().names if n in names)


def preflight(binding: Binding, tables: Iterable[str], command: str) -> PreflightResult:
    """Check ``tables`` of the lake ``binding`` points at; raise ``LakeContractError`` naming
    every breach (table, column, file, count and an example), or say what was checked."""
    wanted = set(tables)
    specs = [t for t in contract().tables if t.qualified in wanted]
    unknown = wanted - {t.qualified for t in specs}
    if unknown:
        contract().table(sorted(unknown)[0])  # raises, naming it
    if binding.engine != "duckdb":
        return PreflightResult(command, (), skipped=(
            f"binding '{binding.name}' is for engine '{binding.engine}' and the pre-flight reads lakes of files; "
            "its tables were not checked against the source contract (run 'soxauto lake check' on a copy of the files)"))
    t0 = time.perf_counter()
    problems, reports, absent = check_tables(binding, specs, absent_ok=True)
    if problems:
        raise LakeContractError(
            f"pre-flight of {command}: {binding.name} breaks the source contract ({len(problems)} problem(s)); "
            "nothing was run or written. Correct the files named below ('soxauto lake check' checks the whole lake)",
            problems,
        )
    return PreflightResult(command, tuple(r.table for r in reports), sum(len(r.files) for r in reports),
                           sum(r.rows for r in reports), time.perf_counter() - t0, tuple(absent))
