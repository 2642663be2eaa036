"""The story `make demo` tells (scale 0.1, seed 7, 2025-07..2025-09, closed in order): mostly
RECONCILED lines, a few to investigate with their reasons, timing items that clear after the
cutoff, wait for their window or stay uncleared, bookings made late or not at all, and items
that age from month to month. The clearing the truth reads is recomputed here with plain
DuckDB SQL over the lake's files (the data horizon included), not with the truth's code."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from lakekit import generated

from soxauto.lake.demo.ledger import LINES
from soxauto.period import Period

ARGS = dict(scale=0.1, seed=7, first_period=Period(2025, 7), periods=3)  # the Makefile's demo lake


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return generated(tmp_path_factory.mktemp("story") / "lake", **ARGS)


@pytest.fixture(scope="module")
def results(demo: Path) -> dict[str, list[dict]]:
    doc = json.loads((demo / "ground_truth.json").read_text("utf-8"))
    out: dict[str, list[dict]] = {}
    for r in doc["results"]:
        out.setdefault(r["period"], []).append(r)
    return out


def test_the_latest_period_is_mostly_reconciled_and_names_what_to_investigate(results) -> None:
    sep = results["2025-09"]
    assert Counter(r["status"] for r in sep) == {"RECONCILED": 57, "INVESTIGATE": 6}
    assert {(r["company_id"], r["line"]): r["reasons"] for r in sep if r["status"] == "INVESTIGATE"} == {
        ("JM_EG", "MPL_REFUNDS"): ["MATERIAL_ITEM_UNRESOLVED"],  # a retail refund posted to 18317 in August
        ("EC_KE", "PACKAGES"): ["MATERIAL_ITEM_UNRESOLVED"],  # a July cash reconciliation posted on 4 October
        ("JD_GH", "COLLECTIONS"): ["MATERIAL_ITEM_UNRESOLVED"],  # a July settlement posted on 2 October
        ("JD_GH", "PREPAYMENTS"): ["UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"],  # a slipped zero
        ("EC_IC", "PREPAYMENTS"): ["MATERIAL_ITEM_UNRESOLVED"],  # a cash-on-delivery item posted as prepaid
        ("EC_IC", "SC_ACCRUED"): ["MATERIAL_ITEM_UNRESOLVED"],  # an August statement not posted by H
    }
    assert Counter(r["auto_certification"] for r in sep) == {None: 49, "NO_OPEN_ITEMS": 14}
    assert sum(1 for r in sep for f in r["findings"] if f["code"] == "BOOKING_OVERDUE") == 9  # every VOUCHERS line
    # the earlier periods, as their own closes saw them
    assert [Counter(r["status"] for r in results[p])["INVESTIGATE"] for p in ("2025-07", "2025-08")] == [7, 7]


def test_exceptions_are_mostly_small_and_a_few_are_large(results) -> None:
    sizes = Counter()
    for r in results["2025-09"]:
        rate = Decimal(r["closing_rate"])
        for i in r["items"]:
            if i["nature"] == "exception" and i["open"] != "0.00":
                usd = abs(Decimal(i["open"])) / rate
                sizes["< 50 USD" if usd < 50 else "< 500 USD" if usd < 500 else ">= 500 USD"] += 1
    assert sizes == {"< 50 USD": 58, "< 500 USD": 21, ">= 500 USD": 6}


def test_timing_items_clear_wait_for_their_window_or_stay_uncleared(results) -> None:
    def states(period: str, lines: set[str]) -> Counter:
        return Counter(i["state"] for r in results[period] if r["line"] in lines for i in r["items"]
                       if i["nature"] == "timing")

    short, long = {"COLLECTIONS", "PACKAGES"}, set(LINES) - {"COLLECTIONS", "PACKAGES"}
    # At the latest cutoff H = C + 20: a 15-day window has passed in the data (cleared or
    # uncleared, nothing pending); a 45-day one has not (what has not cleared yet is pending).
    assert states("2025-09", short) == {"cleared": 1157, "uncleared": 4}
    assert states("2025-09", long) == {"cleared": 1397, "pending": 12, "uncleared": 2}
    # Every earlier period's windows have passed by H: nothing there is pending any more.
    assert all("pending" not in states(p, short | long) for p in ("2025-07", "2025-08"))


def test_bookings_made_after_the_cutoff_clear_and_missing_ones_are_overdue(results) -> None:
    booking = Counter((r["period"], i["state"]) for r in results.values() for r in r for i in r["items"]
                      if i["nature"] == "booking")
    assert booking[("2025-09", "cleared")] > 300 and booking[("2025-09", "pending")] > 100
    assert booking[("2025-09", "uncleared")] > 50 and booking[("2025-07", "pending")] == 0
    journals = [j for r in results["2025-09"] for j in r["proposed_journals"]]
    assert {j["bridge"] for j in journals} == {"EXPIRED_NOT_WRITTEN_OFF", "VTC_NOT_BOOKED", "CANCELLED_NOT_BOOKED"}


def test_items_age_from_month_to_month(results) -> None:
    def ages(period: str) -> Counter:
        return Counter(i["age_days"] for r in results[period] for i in r["items"] if i["open"] != "0.00")

    assert set(ages("2025-07")) == {0, None}  # the first period has no history (None: the manual keys)
    assert set(ages("2025-08")) == {0, 31, None}
    assert set(ages("2025-09")) == {0, 30, 61, None}
    assert ages("2025-09")[61] >= 10  # open since July: the unclaimed vouchers and a few lost postings


# --- the clearing, recomputed from the lake --------------------------------------------------------

def text(x: Decimal) -> str:
    return str((x + Decimal("0.00")).quantize(Decimal("0.01")))  # adding zero drops a negative zero's sign


KEY = {"CUSTOMER_AR": "CASE WHEN source_type = 'Customer' THEN source_no END", "VOUCHERS": "voucher_no"}
AFTER_CUTOFF = """
SELECT {key} AS key, posting_date, amount
FROM read_parquet($gl) WHERE gl_account_no IN (SELECT unnest($accounts)) AND posting_date > $cutoff
  AND posting_date <= (SELECT CAST(max(refreshed_at) AS DATE) FROM read_parquet($balances))
"""


@pytest.mark.parametrize("company", ["EC_NG", "HF_SN"])
@pytest.mark.parametrize("period", ["2025-08", "2025-09"])
def test_sql_over_the_lake_recomputes_every_movement_and_state(demo: Path, results, company: str, period: str) -> None:
    p = Period.parse(period)
    horizon = duckdb.sql("SELECT CAST(max(refreshed_at) AS DATE) FROM read_parquet($f)",
                         params={"f": str(demo / "nav/gl_balances" / f"{company}.parquet")}).fetchall()[0][0]
    assert horizon == date(2025, 10, 20)
    seen = Counter()
    for r in (r for r in results[period] if r["company_id"] == company):
        accounts, liability, _ = LINES[r["line"]]
        query = AFTER_CUTOFF.replace("{key}", KEY.get(r["line"], "external_document_no"))  # a fixed expression
        rows = duckdb.sql(query, params={"gl": str(demo / "nav/gl_entries" / f"{company}.parquet"),
                                         "balances": str(demo / "nav/gl_balances" / f"{company}.parquet"),
                                         "accounts": list(accounts), "cutoff": p.cutoff}).fetchall()
        entries: dict[str, list] = {}
        for key, day, amount in rows:
            entries.setdefault(key, []).append((day, amount))
        for i in (i for i in r["items"] if i["state"]):
            end = date.fromisoformat(i["window_end"])
            delta = Decimal(i["amount"])
            if end <= p.cutoff:
                moved, cleared = None, Decimal(0)
            else:
                total = sum((a for day, a in entries.get(i["key"], []) if day <= end), Decimal(0))
                moved = -total if liability else total
                sign = 1 if delta > 0 else -1
                cleared = sign * min(abs(delta), max(Decimal(0), -sign * moved))
            state = "cleared" if cleared == delta else "pending" if horizon < end else "uncleared"
            assert (i["movement"], i["cleared"], i["state"]) == \
                   (None if moved is None else text(moved), text(cleared), state), (r["line"], i)
            seen[state] += 1
    assert seen["cleared"] > 50 and seen["uncleared"] > 0
