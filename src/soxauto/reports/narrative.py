"""The narrative of a reconciliation line: one deterministic paragraph, built from the line
dict the run store keeps (``LineResult.to_dict``), shown in the workbook, the HTML report and
the dashboard.

    EC_NG store credit vouchers: GL 12,345,678.00 NGN, TV 12,100,000.00 NGN, variance
    245,678.00 NGN (148.90 USD); 96 % classified as usage timing (1,204 items); unexplained
    9,800.00 NGN (5.94 USD) over 3 items; explained 245,678.00 NGN, unresolved 0.00 NGN
    (0.00 USD); below the 1,000.00 USD bucket, no material item unresolved: RECONCILED.

A bridge classifies a difference; it does not explain it (domain spec, "Bridges"). So the
paragraph says how the variance is *classified* (bridges), what no rule claims (unexplained),
and then what is *explained* (resolved: cleared or pending timing, booking items, items with a
disposition) against what is *unresolved* (open items without a disposition and the tie-out
difference), which is what the status is decided on. The status clause names every reason code
(``UNRESOLVED_ABOVE_BUCKET``, ``MATERIAL_ITEM_UNRESOLVED``, or the ERROR cause) with its meaning,
or the auto-certification code of an auto-certified line.

Every figure is printed from the line's decimal strings; the only arithmetic is the share of
the variance a bridge classifies, computed in ``Decimal`` and rounded half-even to a whole
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
    "UNRESOLVED_ABOVE_BUCKET": "unresolved at or above the {bucket} USD bucket",
    "MATERIAL_ITEM_UNRESOLVED": "an open item at or above the {line_item} USD line-item threshold has no disposition",
    "INPUT_TEST_FAILED": "an input's C&A test failed",
    "BRIDGE_RULES_OVERLAP": "two bridge rules claim the same key",
    "FX_RATE_MISSING": "no CR_05 closing rate",
    "FX_RATE_AMBIGUOUS": "more than one CR_05 closing rate",
    "FX_RATE_INVALID": "the CR_05 closing rate is not valid",
}
AUTO_CERTIFICATIONS = {
    "ZERO_BALANCE": "zero balance on both sides",
    "NO_ACTIVITY": "no activity in the period",
    "NO_OPEN_ITEMS": "no open item",
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


def item_count(bridge: dict) -> int:
    """A bridge's count of items. Runs stored before the count was renamed call it ``items``."""
    n = bridge.get("item_count", bridge.get("items"))
    return n if isinstance(n, int) else 0


def reasons(line: dict) -> list[str]:
    """Every reason code of the line, in the spec's order (``reason`` alone for an older run)."""
    if "reasons" in line:
        return list(line["reasons"] or ())
    return [line["reason"]] if line.get("reason") else []


def reasons_text(line: dict) -> str:
    """``UNRESOLVED_ABOVE_BUCKET, MATERIAL_ITEM_UNRESOLVED``; '' for a line without a reason."""
    return ", ".join(reasons(line))


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
        text += f" ({amount(line.get(usd_key))} USD)"
    return text


def bridges_clause(line: dict) -> str:
    """How the variance is classified: the largest bridges by share, the rest summed."""
    variance = Decimal(line["variance_lcy"])
    moving = [(b_id, b) for b_id, b in line["bridges"].items() if Decimal(b["amount_lcy"]) != 0]
    if variance == 0:
        return "no variance" if not moving else "no net variance; bridges offset each other"
    if not moving:
        return "no bridge classifies any of it"
    order = {b_id: n for n, (b_id, _) in enumerate(moving)}
    moving.sort(key=lambda kv: (-abs(Decimal(kv[1]["amount_lcy"])), order[kv[0]]))
    named, rest = moving[:MAX_BRIDGES], moving[MAX_BRIDGES:]
    parts = [f"{share(Decimal(b['amount_lcy']), variance)} % {'classified ' if n == 0 else ''}as {label(b_id)} "
             f"({count(item_count(b))})" for n, (b_id, b) in enumerate(named)]
    if rest:
        rest_sum = sum((Decimal(b["amount_lcy"]) for _, b in rest), Decimal(0))
        parts.append(f"{share(rest_sum, variance)} % as {len(rest)} other bridge{'s' if len(rest) > 1 else ''}")
    return ", ".join(parts)


def resolution_clause(line: dict) -> str:
    """Explained (resolved) against unresolved: what the status is decided on."""
    if line.get("unresolved_lcy") is None:  # a run stored before unresolved figures existed
        return ""
    text = f"explained {_money(line, 'resolved_lcy')}, unresolved {_money(line, 'unresolved_lcy', 'unresolved_usd')}"
    open_items = (line.get("reconciling_items") or {}).get("unresolved") or 0
    tie_out = Decimal(line.get("tie_out_difference_lcy") or 0)
    parts = [f"{count(open_items, 'open item')} without a disposition"] if open_items else []
    if tie_out != 0:
        parts.append(f"a {amount(str(tie_out))} {line['currency']} tie-out difference")
    return text + (" over " + " and ".join(parts) if parts else "")


def status_clause(line: dict) -> str:
    threshold = line.get("threshold") or {}
    limits = {k: amount(threshold.get(f"{k}_usd")) if threshold.get(f"{k}_usd") else "n/a" for k in ("bucket", "line_item")}
    codes = reasons(line)
    if codes:
        why = ", ".join(f"{c} ({REASONS[c].format(**limits)})" if c in REASONS else c for c in codes)
    elif line["status"] == "RECONCILED":
        why = f"below the {limits['bucket']} USD bucket, no material item unresolved"
    else:
        why = line["status"].lower()
    text = f"{why}: {line['status']}"
    errors = [f for f in line.get("findings", []) if f["severity"] == "error"]
    warns = [f for f in line.get("findings", []) if f["severity"] != "error"]
    if errors or warns:
        text += " (" + ", ".join(x for x in (
            f"{len(errors)} error finding{'s' if len(errors) != 1 else ''}" if errors else "",
            f"{len(warns)} warning{'s' if len(warns) != 1 else ''}" if warns else "") if x) + ")"
    code = line.get("auto_certification") if line.get("auto_certified") else None
    if code:
        text += f", auto-certified {code} ({AUTO_CERTIFICATIONS.get(code, code.lower().replace('_', ' '))})"
    return text


def line_narrative(line: dict) -> str:
    """The paragraph for one line dict (``LineResult.to_dict`` / ``RunStore.recon_lines``)."""
    head = (f"{line['entity']} {_title(line)}: GL {_money(line, 'gl_amount')}, TV {_money(line, 'tv_amount')}, "
            f"variance {_money(line, 'variance_lcy', 'variance_usd')}")
    unexplained = f"unexplained {_money(line, 'unexplained_lcy', 'unexplained_usd')}"
    if line.get("unexplained_items"):
        unexplained += f" over {count(line['unexplained_items'])}"
    clauses = [head, bridges_clause(line), unexplained, resolution_clause(line), status_clause(line)]
    return "; ".join(c for c in clauses if c) + "."
