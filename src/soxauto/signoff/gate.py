"""What a line's status allows a signer to do (domain spec, "Sign-off"), read from the line dict a
run stored (``RunStore.recon_lines``), so the CLI, the API and the dashboard decide alike.

    ERROR         neither prepared nor approved; the refusal names the failed test or missing rate
    INVESTIGATE   prepared only with a comment; approved only with a comment, and recorded as
                  ``approved_with_exception``, naming the open items the approval accepts
    RECONCILED    prepared and approved as usual; an auto-certified line is prepared by the
                  system (``SYSTEM``), and a reviewer may approve every prepared RECONCILED line
                  of an entity in one action (``bulk_skip`` says which are left out, and why)

The line dicts come in two shapes, both read here: today's (``reason``, ``bridges`` {id: {amount_lcy,
items: count}}, ``unexplained_lcy``) and the reworked reconciliation's (``reasons``, ``unresolved_lcy``,
bridges with a ``nature`` and, when the run kept them, ``items``: a list of objects with ``key``,
``amount_lcy``, ``open_lcy``, ``state`` and ``disposition``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

SYSTEM = "soxauto"  # who prepares an auto-certified line; never a reviewer
ZERO = Decimal("0")


def reasons(line: dict) -> list[str]:
    """The line's reason codes: ``reasons`` when the line has them, else its one ``reason``."""
    if line.get("reasons"):
        return list(line["reasons"])
    return [line["reason"]] if line.get("reason") else []


def error_cause(line: dict) -> str:
    """Why a line is in ERROR, naming each failed test (``CR_03.tie_out failed``) or the rate
    problem with its message (``FX_RATE_MISSING: CR_05 has no Closing rate for HF_SN ...``)."""
    findings = line.get("findings") or []
    parts: list[str] = []
    for code in reasons(line) or ["ERROR"]:
        found = [f for f in findings if f.get("code") == code]
        tests = [_test_name(d) for f in found for d in (f.get("detail") or ()) if isinstance(d, dict) and d.get("test")]
        if tests:
            text = ", ".join(tests)
        elif found and found[0].get("message"):
            text = f"{code}: {found[0]['message']}"
        else:
            text = code
        if text not in parts:
            parts.append(text)
    return "; ".join(parts)


def _test_name(detail: dict) -> str:
    test, item = str(detail["test"]), detail.get("item")
    name = test if "." in test or not item else f"{item}.{test}"
    return f"{name} {detail.get('outcome') or 'failed'}"


def open_items(line: dict) -> list[dict]:
    """The open items of a line that have no disposition: what an approval with exception accepts.

    Each is ``{"bridge", "key", "open_lcy", "count"}``. When the line lists its items (bridges'
    ``items``, ``unexplained_item_list``), one per item with a non-zero open amount and no
    disposition (``key`` set, ``count`` 1), and the tie-out difference if any. Otherwise one per
    bridge of nature ``exception`` with a non-zero amount, and the unexplained rest (unclaimed keys
    and tie-out differences), each with its count of items and ``key`` None."""
    bridges = line.get("bridges") or {}
    listed = isinstance(line.get("unexplained_item_list"), list) or any(
        isinstance(b.get("items"), list) for b in bridges.values())
    out: list[dict] = []
    if listed:
        for bridge_id, b in bridges.items():
            for item in b.get("items") or ():
                _add_item(out, bridge_id, item, item.get("open_lcy"))
        for item in line.get("unexplained_item_list") or ():
            _add_item(out, "UNEXPLAINED", item, item.get("open_lcy", item.get("amount_lcy")))
        tie_out = _dec(line.get("tie_out_difference_lcy"))
        if tie_out != 0:
            out.append({"bridge": "TIE_OUT_DIFFERENCE", "key": None, "open_lcy": _money(tie_out), "count": 0})
        return out
    for bridge_id, b in bridges.items():
        amount = _dec(b.get("amount_lcy"))
        if b.get("nature") == "exception" and amount != 0:
            count = b.get("item_count", b.get("items"))
            out.append({"bridge": bridge_id, "key": None, "open_lcy": _money(amount),
                        "count": count if isinstance(count, int) else None})
    rest = _dec(line.get("unexplained_lcy"))
    if rest != 0:
        count = line.get("unexplained_items")
        out.append({"bridge": "UNEXPLAINED", "key": None, "open_lcy": _money(rest),
                    "count": count if isinstance(count, int) else None})
    return out


def _add_item(out: list[dict], bridge_id: str, item: dict, open_lcy) -> None:
    amount = _dec(open_lcy)
    if amount != 0 and not item.get("disposition"):
        out.append({"bridge": bridge_id, "key": item.get("key"), "open_lcy": _money(amount), "count": 1})


def auto_certification(line: dict) -> str | None:
    """The code of an auto-certified line (ZERO_BALANCE, NO_ACTIVITY, NO_OPEN_ITEMS, or an older
    run's WITHIN_TOLERANCE), read from ``auto_certified``, never from the names of the codes."""
    if not line.get("auto_certified") or line.get("status") != "RECONCILED":
        return None
    return line.get("auto_certification") or line.get("reason") or "AUTO_CERTIFIED"


def exception_record(line: dict) -> dict:
    """What an approval of an INVESTIGATE line records besides the reviewer's comment."""
    unresolved = line.get("unresolved_lcy", line.get("unexplained_lcy"))
    return {"line_status": line.get("status"), "reasons": reasons(line), "currency": line.get("currency"),
            "unresolved_lcy": unresolved, "open_items": open_items(line)}


def items_text(items: list[dict], currency: str | None = None, limit: int = 5) -> str:
    """``UNEXPLAINED 20,899.11 XOF (3 items); ...``: the open items in a sentence, for people."""
    unit = f" {currency}" if currency else ""
    parts = []
    for i in items[:limit]:
        what = i["bridge"] + (f" {i['key']}" if i.get("key") else "")
        count = f" ({i['count']} item{'' if i['count'] == 1 else 's'})" if not i.get("key") and i.get("count") else ""
        parts.append(f"{what} {_grouped(i['open_lcy'])}{unit}{count}")
    more = len(items) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "") if parts else "no open item"


def bulk_skip(reviewer: str, line: dict, state: str, prepared_by: str | None) -> str | None:
    """Why a bulk approval by ``reviewer`` leaves ``line`` (in sign-off ``state``) out; None when
    it approves it: a prepared RECONCILED line that someone else (or the system) prepared."""
    status = line.get("status")
    if status == "ERROR":
        return f"ERROR ({error_cause(line)}): it can be neither prepared nor approved"
    if status != "RECONCILED":
        why = ", ".join(reasons(line)) or status
        return f"{status} ({why}): approve it on its own with a comment; it is recorded as approved with exception"
    if state in ("approved", "approved_with_exception"):
        return "already approved"
    if state != "prepared":
        return f"{state}: not prepared"
    if prepared_by == reviewer:
        return f"prepared by {reviewer}: another reviewer must approve it (four-eyes)"
    return None


@dataclass(frozen=True)
class Offer:
    """The sign-off buttons a page shows a principal for one line, and why others are missing."""

    prepare: bool = False
    approve: bool = False
    reject: bool = False
    comment_required: bool = False
    notes: tuple[str, ...] = ()


def offer(principal, line: dict, state: dict | None, locked: bool) -> Offer:
    """Only what the principal may do to the line now; ``state`` is the line's ``current`` row."""
    state = state or {"state": "unsigned", "prepared_by": None}
    may_prepare, may_review = principal.has("preparer"), principal.has("reviewer") and principal.name != SYSTEM
    if not may_prepare and not may_review:
        return Offer(notes=("Your role may read but not sign off.",))
    if locked:
        return Offer()
    status, current = line.get("status"), state["state"]
    signed = current in ("approved", "approved_with_exception")
    notes: list[str] = []
    if status == "ERROR":
        notes.append(f"ERROR: {error_cause(line)}. A line in ERROR can be neither prepared nor approved; "
                     "fix its input and close the period again.")
    elif status == "INVESTIGATE" and not signed:
        items = open_items(line)
        notes.append(f"INVESTIGATE ({', '.join(reasons(line))}): preparing it needs a comment; its approval needs one too "
                     f"and is recorded as approved with exception, accepting {len(items)} open item"
                     f"{'' if len(items) == 1 else 's'}: {items_text(items, line.get('currency'))}.")
    if state.get("auto_certification"):
        notes.append(f"Prepared by the system: auto-certified {state['auto_certification']}.")
    prepare = may_prepare and status != "ERROR" and not signed
    own = state.get("prepared_by") == principal.name
    review = may_review and current == "prepared" and not own
    if may_review and current == "prepared" and own:
        notes.append("You prepared this line: another reviewer approves or rejects it.")
    return Offer(prepare=prepare, approve=review and status != "ERROR", reject=review,
                 comment_required=status == "INVESTIGATE", notes=tuple(notes))


def _dec(value) -> Decimal:
    try:
        return ZERO if value in (None, "") else Decimal(str(value))
    except InvalidOperation:
        return ZERO


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _grouped(text) -> str:
    return f"{_dec(text):,.2f}"
