"""The narrative paragraph and the waterfall chart of a line, on line dicts worked by hand."""

from __future__ import annotations

import re
from decimal import Decimal

import handmade

from soxauto.reports.charts import steps, waterfall_svg
from soxauto.reports.narrative import AUTO_CERTIFICATIONS, REASONS, line_narrative, share


def bridge(amount: str, items: int, usd: str = "0.00", nature: str = "exception") -> dict:
    return {"nature": nature, "amount_lcy": amount, "amount_usd": usd, "item_count": items, "material_items": 0,
            "version": "1.0.0"}


def ng_vouchers() -> dict:
    # variance 12,345,678.00 - 12,100,000.00 = 245,678.00; 245,678 / 1,650 = 148.8957 -> 148.90 USD.
    # TIMING_USAGE 235,878.00 / 245,678.00 = 96.01 % -> 96; unexplained 9,800.00 / 1,650 = 5.939 -> 5.94 USD.
    # The timing items cleared or are pending (explained); the 3 unclaimed keys are open without a
    # disposition: unresolved 9,800.00 (below 1,650,000 and none at or above 825,000), resolved 235,878.00.
    return {
        "entity": "EC_NG", "country": "NG", "period": "2025-09", "line": "VOUCHERS", "title": "Store credit vouchers",
        "currency": "NGN", "class": "liability", "gl_accounts": ["18412"], "tv_item": "IPE_08",
        "gl_amount": "12345678.00", "tv_amount": "12100000.00", "variance_lcy": "245678.00", "variance_usd": "148.90",
        "fx_rate": "1650.000000",
        "bridges": {"MANUAL_ADJUSTMENT": bridge("0.00", 0), "TIMING_USAGE": bridge("235878.00", 1204, "142.96", "timing")},
        "unexplained_lcy": "9800.00", "unexplained_usd": "5.94", "unexplained_items": 3,
        "unresolved_lcy": "9800.00", "unresolved_usd": "5.94", "resolved_lcy": "235878.00", "resolved_usd": "142.96",
        "tie_out_difference_lcy": "0.00", "horizon": "2025-10-31", "clearing_window_days": 45,
        "reconciling_items": {"items": 1207, "open": 3, "resolved": 0, "unresolved": 3, "cleared": 1100, "pending": 104,
                              "uncleared": 0, "carried_dispositions": 0, "suspended_dispositions": []},
        "proposed_journals": [], "gl_entries_in_period": 2400, "tv_rows": 5000,
        "key_level": {"keys": 1300, "gl_amount": "12345678.00", "tv_amount": "12100000.00", "tie_out_difference": "0.00"},
        "threshold": {"bucket_usd": "1000.00", "line_item_usd": "500.00", "contracts": {}},
        "status": "RECONCILED", "reasons": [], "reason": "", "auto_certified": False, "auto_certification": None,
        "findings": [],
    }


def test_hand_made_line_dicts_have_the_reconciliation_shape():
    """The dicts these tests and handmade.py work by hand carry exactly the keys LineResult.to_dict writes."""
    from soxauto.period import Period
    from soxauto.recon.fx import FxRate
    from soxauto.recon.items import ITEM_SCHEMA
    from soxauto.recon.result import BridgeResult, LineResult
    from soxauto.recon.status import Status

    empty = ITEM_SCHEMA.empty_table()
    real = LineResult("EC_NG", "NG", Period.parse("2025-09"), "VOUCHERS", "Store credit vouchers", "NGN", "liability",
                      ("18412",), "IPE_08", Decimal("1.00"), Decimal("0.00"), Decimal("1.00"), Decimal("0.00"),
                      FxRate("EC_NG", Decimal("1650.000000"), "NGN"),
                      (BridgeResult("TIMING_USAGE", "1.0.0", "usage", Decimal("1.00"), empty, 0, "timing"),), Decimal("0.00"),
                      empty, status=Status.RECONCILED).to_dict()
    for line in (ng_vouchers(), handmade.vouchers(), handmade.customer_ar(), handmade.packages()):
        assert set(line) == set(real), line["line"]
        assert set(line["reconciling_items"]) == set(real["reconciling_items"])
        assert set(line["key_level"]) == set(real["key_level"])
        for b in line["bridges"].values():
            assert set(b) == set(real["bridges"]["TIMING_USAGE"])


def test_narrative_of_a_reconciled_line():
    assert line_narrative(ng_vouchers()) == (
        "EC_NG store credit vouchers: GL 12,345,678.00 NGN, TV 12,100,000.00 NGN, variance 245,678.00 NGN "
        "(148.90 USD); 96 % classified as usage timing (1,204 items); unexplained 9,800.00 NGN (5.94 USD) over "
        "3 items; explained 235,878.00 NGN, unresolved 9,800.00 NGN (5.94 USD) over 3 open items without a disposition; "
        "below the 1,000.00 USD bucket, no material item unresolved: RECONCILED.")


def test_narrative_names_three_largest_bridges_sums_the_rest_and_every_reason():
    # variance 1,000.00 = 600 + 500 - 300 + 120 + 50 + 30 unexplained. Shares: 60, 50, -30, then 12 + 5 = 17.
    # Only TIMING (500.00) is explained; the rest is open without a disposition: unresolved 500.00 EGP
    # (10.00 USD at 50 EGP per USD), at or above the 5.00 USD bucket, and 600.00 is above the 2.00 USD line item.
    line = ng_vouchers() | {
        "entity": "JM_EG", "line": "CUSTOMER_AR", "title": "Customer receivables", "currency": "EGP",
        "gl_amount": "5000.00", "tv_amount": "4000.00", "variance_lcy": "1000.00", "variance_usd": "20.00",
        "bridges": {"MANUAL_ADJUSTMENT": bridge("50.00", 1), "TIMING": bridge("500.00", 2, nature="timing"),
                    "NOT_POSTED": bridge("-300.00", 1), "NOT_IN_TV": bridge("120.00", 1),
                    "AMOUNT_DIFFERENCE": bridge("600.00", 7)},
        "unexplained_lcy": "30.00", "unexplained_usd": "0.60", "unexplained_items": 1,
        "unresolved_lcy": "500.00", "unresolved_usd": "10.00", "resolved_lcy": "500.00", "resolved_usd": "10.00",
        "reconciling_items": ng_vouchers()["reconciling_items"] | {"open": 11, "unresolved": 11},
        "threshold": {"bucket_usd": "5.00", "line_item_usd": "2.00", "contracts": {}},
        "status": "INVESTIGATE", "reasons": ["UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"],
        "reason": "UNRESOLVED_ABOVE_BUCKET",
        "findings": [{"code": "CR03_CR04_TIE_OUT", "severity": "error", "message": "m", "amount_lcy": "30.00", "detail": []},
                     {"code": "X", "severity": "warn", "message": "m", "amount_lcy": None, "detail": []}],
    }
    assert line_narrative(line) == (
        "JM_EG customer receivables: GL 5,000.00 EGP, TV 4,000.00 EGP, variance 1,000.00 EGP (20.00 USD); "
        "60 % classified as amount differences (7 items), 50 % as timing (2 items), -30 % as items not posted (1 item), "
        "17 % as 2 other bridges; unexplained 30.00 EGP (0.60 USD) over 1 item; explained 500.00 EGP, unresolved 500.00 EGP "
        "(10.00 USD) over 11 open items without a disposition; UNRESOLVED_ABOVE_BUCKET (unresolved at or above the 5.00 USD "
        "bucket), MATERIAL_ITEM_UNRESOLVED (an open item at or above the 2.00 USD line-item threshold has no disposition): "
        "INVESTIGATE (1 error finding, 1 warning).")


def test_narrative_without_variance_or_rate():
    line = ng_vouchers() | {"gl_amount": "0.00", "tv_amount": "0.00", "variance_lcy": "0.00", "variance_usd": None,
                            "bridges": {"TIMING_USAGE": bridge("0.00", 0, None, "timing")}, "unexplained_lcy": "0.00",
                            "unexplained_usd": None, "unexplained_items": 0, "unresolved_lcy": "0.00", "unresolved_usd": None,
                            "resolved_lcy": "0.00", "resolved_usd": None, "threshold": None,
                            "reconciling_items": ng_vouchers()["reconciling_items"] | {"open": 0, "unresolved": 0},
                            "status": "ERROR", "reasons": ["FX_RATE_MISSING"], "reason": "FX_RATE_MISSING"}
    assert line_narrative(line) == (
        "EC_NG store credit vouchers: GL 0.00 NGN, TV 0.00 NGN, variance 0.00 NGN (n/a USD); no variance; "
        "unexplained 0.00 NGN (n/a USD); explained 0.00 NGN, unresolved 0.00 NGN (n/a USD); "
        "FX_RATE_MISSING (no CR_05 closing rate): ERROR.")


def test_narrative_of_an_auto_certified_line():
    line = ng_vouchers() | {"gl_amount": "0.00", "tv_amount": "0.00", "variance_lcy": "0.00", "variance_usd": "0.00",
                            "bridges": {"TIMING_USAGE": bridge("0.00", 0, "0.00", "timing")}, "unexplained_lcy": "0.00",
                            "unexplained_usd": "0.00", "unexplained_items": 0, "unresolved_lcy": "0.00",
                            "unresolved_usd": "0.00", "resolved_lcy": "0.00", "resolved_usd": "0.00",
                            "reconciling_items": ng_vouchers()["reconciling_items"] | {"open": 0, "unresolved": 0},
                            "reason": "ZERO_BALANCE", "auto_certified": True, "auto_certification": "ZERO_BALANCE"}
    assert line_narrative(line) == (
        "EC_NG store credit vouchers: GL 0.00 NGN, TV 0.00 NGN, variance 0.00 NGN (0.00 USD); no variance; "
        "unexplained 0.00 NGN (0.00 USD); explained 0.00 NGN, unresolved 0.00 NGN (0.00 USD); "
        "below the 1,000.00 USD bucket, no material item unresolved: RECONCILED, auto-certified ZERO_BALANCE "
        "(zero balance on both sides).")


def test_narrative_names_the_tie_out_difference_in_the_unresolved_amount():
    assert line_narrative(handmade.vouchers()) == (
        "EC_NG store credit vouchers: GL 13,236,000.00 NGN, TV 10,000,000.00 NGN, variance 3,236,000.00 NGN (1,961.21 USD); "
        "31 % classified as expiries not written off (2 items), 4 % as manual journals (1 item), 4 % as usage timing "
        "(3 items); unexplained 1,996,000.00 NGN (1,209.70 USD) over 2 items; explained 1,210,000.00 NGN, unresolved "
        "2,026,000.00 NGN (1,227.88 USD) over 2 open items without a disposition and a 1,000.00 NGN tie-out difference; "
        "UNRESOLVED_ABOVE_BUCKET (unresolved at or above the 1,000.00 USD bucket), MATERIAL_ITEM_UNRESOLVED (an open item "
        "at or above the 500.00 USD line-item threshold has no disposition): INVESTIGATE (2 warnings).")


def test_no_reason_of_the_old_status_rule_is_left():
    assert "WITHIN_TOLERANCE" not in REASONS and "UNEXPLAINED_ABOVE_BUCKET" not in REASONS
    assert set(REASONS) >= {"UNRESOLVED_ABOVE_BUCKET", "MATERIAL_ITEM_UNRESOLVED"}
    assert set(AUTO_CERTIFICATIONS) == {"ZERO_BALANCE", "NO_ACTIVITY", "NO_OPEN_ITEMS"}


def test_share_rounds_half_even():
    assert [share(Decimal(p), Decimal("1000")) for p in ("125", "135", "-125", "1000")] == [12, 14, -12, 100]


def test_waterfall_steps_walk_from_gl_to_tv():
    bars = steps(ng_vouchers())
    assert [(b[0], str(b[1]), str(b[2]), b[3]) for b in bars] == [
        ("GL", "0", "12345678.00", "total"),
        ("MANUAL_ADJUSTMENT", "12345678.00", "12345678.00", "down"),
        ("TIMING_USAGE", "12345678.00", "12109800.00", "down"),
        ("UNEXPLAINED", "12109800.00", "12100000.00", "unexplained"),
        ("TV", "0", "12100000.00", "total"),
    ]


def test_waterfall_svg_is_standalone_deterministic_and_labelled_from_decimals():
    line = ng_vouchers()
    svg = waterfall_svg(line)
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert svg == waterfall_svg(line)  # byte-for-byte deterministic
    assert re.findall(r'(?:href|src)="(?!#)', svg) == []  # only internal references
    assert "<metadata>" not in svg and "<image" not in svg and "@import" not in svg
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for text in ("12,345,678.00", "235,878.00", "9,800.00", "12,100,000.00", "Usage timing", "Unexplained",
                 "EC_NG VOUCHERS: GL to TV (NGN)", "value axis does not start at zero"):
        assert text in labels
    other = waterfall_svg(line | {"entity": "JM_EG"})
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    assert ids and ids.isdisjoint(re.findall(r'\bid="([^"]+)"', other))
    assert all(i.startswith("wf-EC_NG-VOUCHERS-") for i in ids)
