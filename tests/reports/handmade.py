"""A run worked by hand: three lines of EC_NG (2025-09, 1,650 NGN per USD, bucket 1,000 USD =
1,650,000 NGN, line item 500 USD = 825,000 NGN), their proof items written as the close writes
them (close.items), and the RunData the reports read. No engine, no close: every figure below
is added up in the comments, so a test can assert on it.

VOUCHERS, INVESTIGATE (UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED), H = 2025-10-31, W = 45:

    bridge                    nature     key     amount      state      cleared   open       disposition  age
    MANUAL_ADJUSTMENT         exception  manual    120,000.00                      120,000.00 explained    -
    TIMING_USAGE              timing     V-001      50,000.00 cleared   50,000.00       0.00               0
                                         V-002      30,000.00 pending   10,000.00       0.00               0
                                         V-003      40,000.00 uncleared 15,000.00  25,000.00               30
    EXPIRED_NOT_WRITTEN_OFF   booking    V-010     900,000.00 uncleared      0.00       0.00               0
                                         V-011     100,000.00 cleared  100,000.00       0.00               0
    UNEXPLAINED (unclaimed)              V-020   2,000,000.00                    2,000,000.00              92
                                         V-021      -5,000.00                       -5,000.00 adjust       61

    Σ bridges 1,240,000.00; unclaimed 1,995,000.00 + tie-out 1,000.00 = unexplained 1,996,000.00;
    variance 3,236,000.00 (GL 13,236,000.00 - TV 10,000,000.00; key-level GL 13,235,000.00).
    unresolved = 1,000.00 + 25,000.00 + 2,000,000.00 = 2,026,000.00 (1,227.88 USD) >= 1,650,000;
    V-020 is material (>= 825,000) and has no disposition; resolved = 3,236,000 - 2,026,000 = 1,210,000.00.
    Proposed journals: booking EXPIRED 900,000.00 (V-010's part not cleared), adjust V-021 5,000.00.
    Open items by age: 0-30 V-003 25,000.00; 31-60 none; 61-90 V-021 -5,000.00; over 90 V-020
    2,000,000.00; no age (manual) 120,000.00.

CUSTOMER_AR, RECONCILED, auto-certified NO_OPEN_ITEMS: TIMING C-1 10,000.00 and C-2 -2,500.00,
both cleared; variance 7,500.00 = resolved; unresolved 0.00.

PACKAGES, ERROR (INPUT_TEST_FAILED, CR_03.tie_out): NOT_IN_TV P-1 300.00 open; every USD figure null.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from soxauto.close.items import SCHEMA, items_path
from soxauto.reports.model import RunData

ENTITY, PERIOD, RUN_ID = "EC_NG", "2025-09", "202509-HANDMADE"
CUTOFF, WINDOW = date(2025, 9, 30), 45
GENERIC = ("MANUAL_ADJUSTMENT", "TIMING", "NOT_POSTED", "NOT_IN_TV", "AMOUNT_DIFFERENCE")
NATURES = {"MANUAL_ADJUSTMENT": "exception", "TIMING": "timing", "NOT_POSTED": "exception", "NOT_IN_TV": "exception",
           "AMOUNT_DIFFERENCE": "exception", "TIMING_USAGE": "timing", "EXPIRED_NOT_WRITTEN_OFF": "booking",
           "VTC_NOT_BOOKED": "booking", "CANCELLED_NOT_BOOKED": "booking"}
THRESHOLD = {"bucket_usd": "1000.00", "line_item_usd": "500.00", "contracts": {}}


def bridge(b_id: str, amount: str, count: int, usd: str | None, material: int = 0) -> tuple[str, dict]:
    return b_id, {"nature": NATURES[b_id], "amount_lcy": amount, "amount_usd": usd, "item_count": count,
                  "material_items": material, "version": "1.0.0"}


def reconciling(items=0, open_=0, resolved=0, unresolved=0, cleared=0, pending=0, uncleared=0) -> dict:
    return {"items": items, "open": open_, "resolved": resolved, "unresolved": unresolved, "cleared": cleared,
            "pending": pending, "uncleared": uncleared, "carried_dispositions": 0, "suspended_dispositions": []}


def line(name: str, title: str, accounts: list[str], tv_item: str, **figures) -> dict:
    base = {"entity": ENTITY, "country": "NG", "period": PERIOD, "line": name, "title": title, "currency": "NGN",
            "class": "liability", "gl_accounts": accounts, "tv_item": tv_item, "fx_rate": "1650.000000",
            "horizon": "2025-10-31", "clearing_window_days": WINDOW, "gl_entries_in_period": 10, "tv_rows": 10,
            "threshold": THRESHOLD, "proposed_journals": [], "findings": [], "auto_certified": False,
            "auto_certification": None}
    return base | figures


def vouchers() -> dict:
    return line(
        "VOUCHERS", "Store credit vouchers", ["18412"], "IPE_08",
        gl_amount="13236000.00", tv_amount="10000000.00", variance_lcy="3236000.00", variance_usd="1961.21",
        bridges=dict([bridge("MANUAL_ADJUSTMENT", "120000.00", 1, "72.73"), bridge("TIMING_USAGE", "120000.00", 3, "72.73"),
                      bridge("EXPIRED_NOT_WRITTEN_OFF", "1000000.00", 2, "606.06", 1),
                      bridge("VTC_NOT_BOOKED", "0.00", 0, "0.00"), bridge("CANCELLED_NOT_BOOKED", "0.00", 0, "0.00")]),
        unexplained_lcy="1996000.00", unexplained_usd="1209.70", unexplained_items=2,
        unresolved_lcy="2026000.00", unresolved_usd="1227.88", resolved_lcy="1210000.00", resolved_usd="733.33",
        tie_out_difference_lcy="1000.00",
        reconciling_items=reconciling(8, 4, 2, 2, 2, 1, 2),
        proposed_journals=[
            {"source": "booking", "bridge": "EXPIRED_NOT_WRITTEN_OFF", "debit": "18412", "credit": "71050",
             "amount_lcy": "900000.00", "description": "Write off expired vouchers to breakage income", "items": ["V-010"]},
            {"source": "adjust", "bridge": "UNEXPLAINED", "debit": "18412", "credit": "13011", "amount_lcy": "5000.00",
             "description": "Reverse duplicate refund", "items": ["V-021"], "disposition_id": "d-21"}],
        key_level={"keys": 12, "gl_amount": "13235000.00", "tv_amount": "10000000.00", "tie_out_difference": "1000.00"},
        status="INVESTIGATE", reasons=["UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"], reason="UNRESOLVED_ABOVE_BUCKET",
        findings=[{"code": "BOOKING_OVERDUE", "severity": "warn", "message": "1 booking item(s) not booked within the clearing window",
                   "amount_lcy": "900000.00", "detail": []},
                  {"code": "STALE_ITEM", "severity": "warn", "message": "1 item(s) older than 90 days and not cleared",
                   "amount_lcy": "2000000.00", "detail": []}])


def customer_ar() -> dict:
    return line(
        "CUSTOMER_AR", "Customer receivables", ["13003", "13004", "13009"], "IPE_07", **{"class": "asset"},
        gl_amount="107500.00", tv_amount="100000.00", variance_lcy="7500.00", variance_usd="4.55",
        bridges=dict([bridge("MANUAL_ADJUSTMENT", "0.00", 0, "0.00"), bridge("TIMING", "7500.00", 2, "4.55"),
                      bridge("NOT_POSTED", "0.00", 0, "0.00"), bridge("NOT_IN_TV", "0.00", 0, "0.00"),
                      bridge("AMOUNT_DIFFERENCE", "0.00", 0, "0.00")]),
        unexplained_lcy="0.00", unexplained_usd="0.00", unexplained_items=0,
        unresolved_lcy="0.00", unresolved_usd="0.00", resolved_lcy="7500.00", resolved_usd="4.55", tie_out_difference_lcy="0.00",
        reconciling_items=reconciling(2, cleared=2),
        key_level={"keys": 40, "gl_amount": "107500.00", "tv_amount": "100000.00", "tie_out_difference": "0.00"},
        status="RECONCILED", reasons=[], reason="NO_OPEN_ITEMS", auto_certified=True, auto_certification="NO_OPEN_ITEMS")


def packages() -> dict:
    return line(
        "PACKAGES", "Packages", ["13005"], "IPE_12", **{"class": "asset"},
        gl_amount="5300.00", tv_amount="5000.00", variance_lcy="300.00", variance_usd=None,
        bridges=dict([bridge("MANUAL_ADJUSTMENT", "0.00", 0, None), bridge("TIMING", "0.00", 0, None),
                      bridge("NOT_POSTED", "0.00", 0, None), bridge("NOT_IN_TV", "300.00", 1, None),
                      bridge("AMOUNT_DIFFERENCE", "0.00", 0, None)]),
        unexplained_lcy="0.00", unexplained_usd=None, unexplained_items=0,
        unresolved_lcy="300.00", unresolved_usd=None, resolved_lcy="0.00", resolved_usd=None, tie_out_difference_lcy="0.00",
        reconciling_items=reconciling(1, 1, 0, 1),
        key_level={"keys": 3, "gl_amount": "5300.00", "tv_amount": "5000.00", "tie_out_difference": "0.00"},
        status="ERROR", reasons=["INPUT_TEST_FAILED"], reason="INPUT_TEST_FAILED",
        findings=[{"code": "INPUT_TEST_FAILED", "severity": "error", "message": "CR_03.tie_out failed", "amount_lcy": None,
                   "detail": [{"test": "CR_03.tie_out", "item": "CR_03", "outcome": "failed"}]}])


def item(ln: str, bridge_id: str, key: str, amount: str, *, state: str | None = None, cleared: str = "0.00",
         open_: str | None = None, age: int | None = 0, disposition: str | None = None, material: bool = False) -> dict:
    nature = NATURES.get(bridge_id, "exception")
    first = None if age is None else CUTOFF - timedelta(days=age)
    timed = nature in ("timing", "booking") and first is not None
    return {"entity": ENTITY, "period": PERIOD, "line": ln, "bridge": bridge_id, "key": key, "amount_lcy": Decimal(amount),
            "currency": "NGN", "material": material, "nature": nature, "state": state,
            "movement_lcy": Decimal(cleared) if timed else Decimal("0.00"), "cleared_lcy": Decimal(cleared),
            "open_lcy": Decimal(amount if open_ is None else open_), "first_cutoff": first,
            "window_end": first + timedelta(days=WINDOW) if timed else None, "age_days": age, "disposition": disposition,
            "disposition_id": None if disposition is None else f"d-{key[-2:]}",
            "disposition_period": None if disposition is None else PERIOD}


def items_rows() -> list[dict]:
    """In the close's order: line, bridge (UNEXPLAINED last), key."""
    return [
        item("VOUCHERS", "MANUAL_ADJUSTMENT", "manual", "120000.00", age=None, disposition="explained"),
        item("VOUCHERS", "TIMING_USAGE", "V-001", "50000.00", state="cleared", cleared="50000.00", open_="0.00"),
        item("VOUCHERS", "TIMING_USAGE", "V-002", "30000.00", state="pending", cleared="10000.00", open_="0.00"),
        item("VOUCHERS", "TIMING_USAGE", "V-003", "40000.00", state="uncleared", cleared="15000.00", open_="25000.00", age=30),
        item("VOUCHERS", "EXPIRED_NOT_WRITTEN_OFF", "V-010", "900000.00", state="uncleared", open_="0.00", material=True),
        item("VOUCHERS", "EXPIRED_NOT_WRITTEN_OFF", "V-011", "100000.00", state="cleared", cleared="100000.00", open_="0.00"),
        item("VOUCHERS", "UNEXPLAINED", "V-020", "2000000.00", age=92, material=True),
        item("VOUCHERS", "UNEXPLAINED", "V-021", "-5000.00", age=61, disposition="adjust"),
        item("CUSTOMER_AR", "TIMING", "C-1", "10000.00", state="cleared", cleared="10000.00", open_="0.00"),
        item("CUSTOMER_AR", "TIMING", "C-2", "-2500.00", state="cleared", cleared="-2500.00", open_="0.00"),
        item("PACKAGES", "NOT_IN_TV", "P-1", "300.00"),
    ]


def run_data(reports_dir: Path, *, signoffs: tuple[dict, ...] = ()) -> RunData:
    """The hand-made run, its items file written under ``reports_dir`` as a close writes it."""
    path = items_path(reports_dir, RUN_ID, ENTITY)
    path.parent.mkdir(parents=True, exist_ok=True)
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(items_rows(), schema=SCHEMA), path)
    run = {"id": RUN_ID, "period": PERIOD, "status": "completed", "exit_code": 1, "source": "lake:/nowhere",
           "pack_version": "cpg1-test", "user": "closer", "host": "test", "started_at": "2025-10-31T08:00:00Z",
           "finished_at": "2025-10-31T08:01:00Z", "entities": [ENTITY]}
    entity = {"entity": ENTITY, "country": "NG", "currency": "NGN",
              "fx": {"rate_lcy_per_usd": "1650.000000", "currency": "NGN", "problem": None, "detail": None},
              "unexplained_usd_abs_total": "1209.88", "unresolved_usd_abs_total": "1228.06",
              "country_materiality_usd": "10000", "country_materiality_contract": "default", "above_country_materiality": False}
    return RunData(run=run, lines=(customer_ar(), vouchers(), packages()), entities={ENTITY: entity}, evidence=(),
                   validation=(), signoffs=signoffs, reports_dir=Path(reports_dir),
                   items_files={ENTITY: {"path": str(path), "sha256": "", "rows": len(items_rows())}})
