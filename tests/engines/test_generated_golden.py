"""Golden files of generated statements as SQL Server and Athena receive them: each rewrite of
the capability table shows up as a reviewable diff of ``tests/engines/golden/*.sql``.
A missing file fails; ``pytest --update-golden`` rewrites them after review."""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from soxauto.catalog import load_catalog
from soxauto.engines.fake import FakeEngine
from soxauto.period import Period
from soxauto.recon import load_pack
from soxauto.recon.keyjoin import key_query
from soxauto.validation import compile as c

GOLDEN = Path(__file__).resolve().parent / "golden"
LINE_PARAMS = {"gl_accounts": ["18412"], "cutoff": date(2025, 9, 30), "period_start": date(2025, 9, 1),
               "material_lcy": Decimal("825000.00")}


def vouchers_key_rows() -> tuple[exp.Expression, dict]:
    """The VOUCHERS line's key rows: BOOL_OR attributes of IPE_08, booleans as values."""
    pack = load_pack()
    spec = pack.line("VOUCHERS")
    tables = [exp.to_table(n) for n in ("rc_cr_03", "rc_ipe_08", "rc_classified")]
    return key_query(spec, pack.family(spec), tables[0], tables[1], tables[2]), LINE_PARAMS


def cr03_tie_out() -> tuple[exp.Expression, dict]:
    """CR_03's source tie-out: extract and source compared with IS DISTINCT FROM."""
    item = load_catalog().item("CR_03")
    (rule,) = [t for t in item.tests if t.kind == "source_tie_out"]
    totals, _ = c.tie_out(rule, exp.to_table("ds_cr_03"))
    return totals, item.bind(Period(2025, 9), "EC_NG")


CR06_BOUNDS = {"window_end": date(2025, 11, 14), "horizon": date(2025, 10, 31)}


def cr06_tie_out() -> tuple[exp.Expression, dict]:
    """CR_06's month-end tie-out (running_tie_out): the extract summed up to each month-end the
    balances hold, joined with balance(M) - balance(C); the time bounds bound like the cutoff."""
    item = load_catalog().item("CR_06")
    (rule,) = [t for t in item.tests if t.kind == "running_tie_out"]
    totals, _ = c.running_tie_out(rule, exp.to_table("ds_cr_06"))
    return totals, item.bind(Period(2025, 9), "EC_NG", CR06_BOUNDS)


def ipe08() -> tuple[exp.Expression, dict]:
    """IPE_08: parameters in its select list (TV uses, the cutoff), literals on Athena."""
    item = load_catalog().item("IPE_08")
    return item.query, item.bind(Period(2025, 9), "EC_NG")


CASES = {"vouchers_key_rows": vouchers_key_rows, "cr03_tie_out": cr03_tie_out, "cr06_tie_out": cr06_tie_out, "ipe08": ipe08}


@pytest.mark.parametrize("dialect", ["tsql", "trino"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_statement_matches_its_golden_file(case, dialect, update_golden):
    query, params = CASES[case]()
    text, _ = FakeEngine(dialect=dialect).render(query, params)
    assert len(sqlglot.parse(text, read=dialect)) == 1
    golden = GOLDEN / f"{case}.{dialect}.sql"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text + "\n", "utf-8")
        return
    assert golden.is_file(), f"{golden} is missing; review the SQL and run pytest --update-golden"
    expected = golden.read_text("utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), (text + "\n").splitlines(True), str(golden), "rendered"))
    assert text + "\n" == expected, diff
