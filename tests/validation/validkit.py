"""Helpers shared by the validation tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from soxauto.engines.duckdb import DuckDBEngine

_BALANCES_ITEM = """\
id: {id}
title: balances
kind: CR
control: C-PG-1
owner: test
source_systems: [NAV]
version: 1.0.0
description: balances
query: {id}.sql
output:
  - company_id: id
  - gl_account_no: id
  - balance_lcy: money
{refreshed}critical_columns: [company_id, gl_account_no, balance_lcy]
key: [gl_account_no]
tests:
{tests}
"""


def balances_sql(*, refreshed_at: bool = False) -> str:
    """The query of a balances item like CR_04: one company's GL balances at the cutoff."""
    return ("SELECT b.company_id, b.gl_account_no, b.balance_lcy" + (", b.refreshed_at" if refreshed_at else "") + "\n"
            "FROM nav.gl_balances AS b\n"
            "WHERE b.company_id = :company_id AND b.closing_date = :cutoff\n"
            "ORDER BY b.gl_account_no\n")


def write_balances_item(folder: Path, item_id: str, tests: str, *, sql: str | None = None, refreshed_at: bool = False) -> None:
    """``item_id``.yaml and .sql in a catalog folder: a balances item whose rules are ``tests``
    (YAML list entries, dedented here); ``refreshed_at`` adds that timestamp to its output."""
    refreshed = "  - refreshed_at: ts\n" if refreshed_at else ""
    (folder / f"{item_id}.yaml").write_text(_BALANCES_ITEM.format(id=item_id, refreshed=refreshed, tests=textwrap.dedent(tests)))
    (folder / f"{item_id}.sql").write_text(sql if sql is not None else balances_sql(refreshed_at=refreshed_at))


class SpyEngine(DuckDBEngine):
    """The real engine, counting the statements it runs (through ``run`` or ``rows``)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.statements: list[str] = []

    def run(self, query, params):
        result = super().run(query, params)
        self.statements.append(result.sql)
        return result

    def rows(self, query, params):
        answer, sql = super().rows(query, params)
        self.statements.append(sql)
        return answer, sql
