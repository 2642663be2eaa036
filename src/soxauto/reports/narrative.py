"""The narrative of a reconciliation line: one deterministic paragraph, built from the line
dict the run store keeps (``LineResult.to_dict``), shown in the workbook, the HTML report and
the dashboard.

    EC_NG store credit vouchers: GL 12,345,678.00 NGN, TV 12,100,000.00 NGN, variance
    245,678.00 NGN (148.90 USD); 96 % explained by usage timing (1,204 items); unexplained
    9,800.00 NGN (5.94 USD), below the 1,000.00 USD threshold: RECONCILED.

Every figure is printed from the line's decimal strings; the only arithmetic is the share of
the variance a bridge explains, computed in ``Decimal`` and rounded half-even to a whole
percent. Bridges are named by a short label (``BRIDGE_LABELS``, else the id in words), in
order of their absolute amount (ties by the line's bridge order), at most ``MAX_BRIDGES``
named; the rest are summed into "N other bridges".
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MAX_BRIDGES = 3
BRIDGE_LABELS = {
    "MANUAL_ADJUSTMENT": "manual journals",
    "TIMING": "timing",
    "NOT_POSTED": "items not posted",
    "NOT_IN_TV": "items not in the target values",
    "AMOUNT_DIFFERENCE": "amount differences",
    "TIMING_USAGE": "usage timing",
    "EXPIRED_NOT_WRITTEN_OFF": "expiries not written off",
    "VTC_NOT_BOOKED": "voucher-to-cash not booked",
    "CANCELLED_NOT_BOOKED": "cancellations not booked",
}
REASONS = {
    "UNEXPLAINED_ABOVE_BUCKET": "at or above the {bucket} USD threshold",
    "INPUT_TEST_FAILED": "an input's C&A test failed",
    "BRIDGE_RULES_OVERLAP": "two bridge rules claim the same key",
    "FX_RATE_MISSING": "no CR_05 closing rate",
    "FX_RATE_AMBIGUOUS": "more than one CR_05 closing rate",
    "FX_RATE_INVALID": "the CR_05 closing rate is not valid",
    "ZERO_BALANCE": "zero balance on both sides",
    "NO_ACTIVITY": "no activity in the period",
    "WITHIN_TOLERANCE": "below the {bucket} USD threshold",
}


def amount(text: str | None) -> str:
    """A decimal string with thousands separators and two places; 'n/a' for None."""
    if text is None:
        return "n/a"
    return f"{Decimal(text).quantize(Decimal('0.01')):,.2f}"


def count(n: int, noun: str = "item") -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def label(bridge_id: str) -> str:
    return BRIDGE_LABELS.get(bridge_id, bridge_id.lower().replace("_", " "))


def share(part: Decimal, whole: Decimal) -> int:
    """``part`` as a whole percent of ``whole`` (half-even); ``whole`` must not be zero."""
    return int((part * 100 / whole).quantize(Decimal(1), ROUND_HALF_EVEN))


def _title(line: dict) -> str:
    title = line.get("title") or line["line"]
    # "Customer receivables" reads as a phrase lower-cased; an acronym ("MPL refunds") stays.
    if len(title) > 1 and title[0].isupper() and not title[1].isupper():
        title = title[0].lower() + title[1:]
    return title


def _money(line: dict, lcy_key: str, usd_key: str | None = None) -> str:
    text = f"{amount(line[lcy_key])} {line['currency']}"
    if usd_key is not None:
        text += f" ({amount(line[usd_key])} USD)"
    return text


def bridges_clause(line: dict) -> str:
    """How the variance is explained: the largest bridges by share, the rest summed."""
    variance = Decimal(line["variance_lcy"])
    moving = [(b_id, b) for b_id, b in line["bridges"].items() if Decimal(b["amount_lcy"]) != 0]
    if variance == 0:
        return "no variance" if not moving else "no net variance; bridges offset each other"
    if not moving:
        return "no bridge explains any of it"
    order = {b_id: n for n, (b_id, _) in enumerate(moving)}
    moving.sort(key=lambda kv: (-abs(Decimal(kv[1]["amount_lcy"])), order[kv[0]]))
    named, rest = moving[:MAX_BRIDGES], moving[MAX_BRIDGES:]
    parts = [f"{share(Decimal(b['amount_lcy']), variance)} % {'explained ' if n == 0 else ''}by {label(b_id)} "
             f"({count(b['items'])})" for n, (b_id, b) in enumerate(named)]
    if rest:
        rest_sum = sum((Decimal(b["amount_lcy"]) for _, b in rest), Decimal(0))
        parts.append(f"{share(rest_sum, variance)} % by {len(rest)} other bridge{'s' if len(rest) > 1 else ''}")
    return ", ".join(parts)


def status_clause(line: dict) -> str:
    threshold = line.get("threshold") or {}
    bucket = amount(threshold.get("bucket_usd")) if threshold.get("bucket_usd") else "n/a"
    why = REASONS.get(line["reason"], line["reason"].lower().replace("_", " ")).format(bucket=bucket)
    text = f"{why}: {line['status']}"
    errors = [f for f in line.get("findings", []) if f["severity"] == "error"]
    warns = [f for f in line.get("findings", []) if f["severity"] != "error"]
    if errors or warns:
        text += " (" + ", ".join(x for x in (
            f"{len(errors)} error finding{'s' if len(errors) != 1 else ''}" if errors else "",
            f"{len(warns)} warning{'s' if len(warns) != 1 else ''}" if warns else "") if x) + ")"
    return text


def line_narrative(line: dict) -> str:
    """The paragraph for one line dict (``LineResult.to_dict`` / ``RunStore.recon_lines``)."""
    head = (f"{line['entity']} {_title(line)}: GL {_money(line, 'gl_amount')}, TV {_money(line, 'tv_amount')}, "
            f"variance {_money(line, 'variance_lcy', 'variance_usd')}")
    unexplained = f"unexplained {_money(line, 'unexplained_lcy', 'unexplained_usd')}"
    if line.get("unexplained_items"):
        unexplained += f" over {count(line['unexplained_items'])}"
    return f"{head}; {bridges_clause(line)}; {unexplained}, {status_clause(line)}."
