"""The narrative paragraph and the waterfall chart of a line, on line dicts worked by hand."""

from __future__ import annotations

import re
from decimal import Decimal

from soxauto.reports.charts import steps, waterfall_svg
from soxauto.reports.narrative import line_narrative, share


def bridge(amount: str, items: int, usd: str = "0.00") -> dict:
    return {"amount_lcy": amount, "amount_usd": usd, "items": items, "material_items": 0, "version": "1.0.0"}


def ng_vouchers() -> dict:
    # variance 12,345,678.00 - 12,100,000.00 = 245,678.00; 245,678 / 1,650 = 148.8957 -> 148.90 USD.
    # TIMING_USAGE 235,878.00 / 245,678.00 = 96.01 % -> 96; unexplained 9,800.00 / 1,650 = 5.939 -> 5.94 USD.
    return {
        "entity": "EC_NG", "country": "NG", "period": "2025-09", "line": "VOUCHERS", "title": "Store credit vouchers",
        "currency": "NGN", "class": "liability", "gl_accounts": ["18412"], "tv_item": "IPE_08",
        "gl_amount": "12345678.00", "tv_amount": "12100000.00", "variance_lcy": "245678.00", "variance_usd": "148.90",
        "fx_rate": "1650.000000",
        "bridges": {"MANUAL_ADJUSTMENT": bridge("0.00", 0), "TIMING_USAGE": bridge("235878.00", 1204)},
        "unexplained_lcy": "9800.00", "unexplained_usd": "5.94", "unexplained_items": 3,
        "threshold": {"bucket_usd": "1000.00", "line_item_usd": "500.00", "contracts": {}},
        "status": "RECONCILED", "reason": "WITHIN_TOLERANCE", "auto_certified": True, "findings": [],
    }


def test_narrative_of_a_reconciled_line():
    assert line_narrative(ng_vouchers()) == (
        "EC_NG store credit vouchers: GL 12,345,678.00 NGN, TV 12,100,000.00 NGN, variance 245,678.00 NGN "
        "(148.90 USD); 96 % explained by usage timing (1,204 items); unexplained 9,800.00 NGN (5.94 USD) over "
        "3 items, below the 1,000.00 USD threshold: RECONCILED.")


def test_narrative_names_three_largest_bridges_and_sums_the_rest():
    # variance 1,000.00 = 600 + 500 - 300 + 120 + 50 + 30 unexplained. Shares: 60, 50, -30, then 12 + 5 = 17.
    line = ng_vouchers() | {
        "entity": "JM_EG", "line": "CUSTOMER_AR", "title": "Customer receivables", "currency": "EGP",
        "gl_amount": "5000.00", "tv_amount": "4000.00", "variance_lcy": "1000.00", "variance_usd": "20.00",
        "bridges": {"MANUAL_ADJUSTMENT": bridge("50.00", 1), "TIMING": bridge("500.00", 2), "NOT_POSTED": bridge("-300.00", 1),
                    "NOT_IN_TV": bridge("120.00", 1), "AMOUNT_DIFFERENCE": bridge("600.00", 7)},
        "unexplained_lcy": "30.00", "unexplained_usd": "0.60", "unexplained_items": 1,
        "status": "INVESTIGATE", "reason": "UNEXPLAINED_ABOVE_BUCKET",
        "findings": [{"code": "CR03_CR04_TIE_OUT", "severity": "error", "message": "m", "amount_lcy": "30.00", "detail": []},
                     {"code": "X", "severity": "warn", "message": "m", "amount_lcy": None, "detail": []}],
    }
    assert line_narrative(line) == (
        "JM_EG customer receivables: GL 5,000.00 EGP, TV 4,000.00 EGP, variance 1,000.00 EGP (20.00 USD); "
        "60 % explained by amount differences (7 items), 50 % by timing (2 items), -30 % by items not posted (1 item), "
        "17 % by 2 other bridges; unexplained 30.00 EGP (0.60 USD) over 1 item, at or above the 1,000.00 USD threshold: "
        "INVESTIGATE (1 error finding, 1 warning).")


def test_narrative_without_variance_or_rate():
    line = ng_vouchers() | {"gl_amount": "0.00", "tv_amount": "0.00", "variance_lcy": "0.00", "variance_usd": None,
                            "bridges": {"TIMING_USAGE": bridge("0.00", 0)}, "unexplained_lcy": "0.00",
                            "unexplained_usd": None, "unexplained_items": 0, "threshold": None,
                            "status": "ERROR", "reason": "FX_RATE_MISSING"}
    assert line_narrative(line) == (
        "EC_NG store credit vouchers: GL 0.00 NGN, TV 0.00 NGN, variance 0.00 NGN (n/a USD); no variance; "
        "unexplained 0.00 NGN (n/a USD), no CR_05 closing rate: ERROR.")


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
