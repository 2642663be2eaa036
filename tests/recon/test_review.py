"""Review lists from a hand-built IPE_07 (EC_NG, NGN, 2025-09): customers with more than one
posting group, and business-line reclasses to the line of largest absolute balance (ties: the
alphabetically first code; a document without a business line sorts after every named line).
Only open documents (in_tv) count.
"""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from soxauto.engines.duckdb import DuckDBEngine
from soxauto.lake.binding import lake_binding
from soxauto.money import Money
from soxauto.period import Period
from soxauto.recon.review import Move, Reclass, review_lists

PARAMS = {"company_id": "EC_NG", "currency": "NGN", "period": Period(2025, 9)}

# (customer_no, customer_posting_group, busline_code, remaining_amount_lcy, in_tv)
DOCUMENTS = [
    ("C1", "B2B-NG-NAT", "RET", "100.00", True),
    ("C1", "B2B-NG-NAT", "RET", "50.00", True),
    ("C1", "LOAN-REC-NAT", "MPL", "20.00", True),  # C1: two groups; RET 150 vs MPL 20
    ("C2", "NATIONAL", "RET", "300.00", True),
    ("C2", "NATIONAL", "MPL", "-300.00", True),  # C2: |RET| = |MPL|: the tie goes to MPL
    ("C3", "NATIONAL", "JPAY", "40.00", True),
    ("C3", "NATIONAL", "RET", "60.00", True),
    ("C3", "NATIONAL", None, "60.00", True),  # C3: RET ties with no line: RET wins
    ("C4", "NATIONAL", "RET", "70.00", True),
    ("C4", "NATIONAL", "MPL", "5.00", True),
    ("C4", "NATIONAL", "MPL", "-5.00", True),  # C4: MPL nets to zero: no spread
    ("C5", "NATIONAL", "RET", "10.00", True),
    ("C5", "EMP-NAT", "MPL", "0.00", False),  # C5: context rows do not count
    ("C6", "NAT", "RET", "10.00", True),
    ("C6", "EXPORT", "RET", "-10.00", True),  # C6: two groups, one line
]


def ipe07(rows) -> pa.Table:
    return pa.table({
        "customer_no": [r[0] for r in rows],
        "customer_name": [f"Customer {r[0]}" for r in rows],
        "customer_posting_group": [r[1] for r in rows],
        "busline_code": pa.array([r[2] for r in rows], pa.string()),
        "remaining_amount_lcy": pa.array([Decimal(r[3]) for r in rows], pa.decimal128(18, 2)),
        "in_tv": [r[4] for r in rows],
    })


@pytest.fixture
def result(tmp_path):
    with DuckDBEngine(lake_binding(tmp_path)) as engine:
        yield review_lists(engine, engine.register("ipe07", ipe07(DOCUMENTS)), PARAMS)


def N(text: str) -> Money:
    return Money(Decimal(text), "NGN")


def test_customers_with_more_than_one_posting_group(result):
    rows = [(r["customer_no"], r["customer_posting_group"], r["documents"], str(r["balance"]))
            for r in result.posting_groups.to_pylist()]
    assert rows == [
        ("C1", "B2B-NG-NAT", 2, "150.00"),
        ("C1", "LOAN-REC-NAT", 1, "20.00"),
        ("C6", "EXPORT", 1, "-10.00"),
        ("C6", "NAT", 1, "10.00"),
    ]
    assert result.multi_group_customers == ("C1", "C6")


def test_business_line_reclass_to_largest_absolute_balance(result):
    assert result.reclasses == (
        Reclass("C1", "RET", N("170.00"), (Move("RET", N("150.00"), N("20.00")), Move("MPL", N("20.00"), N("-20.00")))),
        Reclass("C2", "MPL", N("0.00"), (Move("MPL", N("-300.00"), N("300.00")), Move("RET", N("300.00"), N("-300.00")))),
        Reclass("C3", "RET", N("160.00"), (Move("RET", N("60.00"), N("100.00")), Move(None, N("60.00"), N("-60.00")),
                                           Move("JPAY", N("40.00"), N("-40.00")))),
    )


def test_business_line_rows_move_nothing_in_total(result):
    rows = result.business_lines.to_pylist()
    assert [(r["customer_no"], r["busline_code"], r["is_target"]) for r in rows] == [
        ("C1", "RET", True), ("C1", "MPL", False), ("C2", "MPL", True), ("C2", "RET", False),
        ("C3", "RET", True), ("C3", None, False), ("C3", "JPAY", False)]
    for customer in ("C1", "C2", "C3"):
        assert sum(r["move_amount"] for r in rows if r["customer_no"] == customer) == 0


def test_review_renders_in_rich(result):
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(result)
    text = console.export_text()
    assert "Several posting groups — EC_NG 2025-09" in text and "Business-line reclass — EC_NG 2025-09" in text
    assert "LOAN-REC-NAT" in text and "(none)" in text and "+300.00" in text
