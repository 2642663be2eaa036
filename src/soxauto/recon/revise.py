"""A new revision of a line's result after a disposition, without re-running the close.

A disposition takes effect at once (domain spec, "Reconciling items"): the line's figures,
status and reasons are recomputed from what the close stored, the line dict
(``LineResult.to_dict``) and its proof items (``close.items``: key, bridge, open_lcy, state,
disposition...), with the dispositions now in force. Nothing is read from an engine: an item's
open amount does not depend on dispositions, so only who resolves it changes, and with it

    unresolved = (CR_04 − Σ CR_03) − (TV − Σ t)  +  Σ open amounts without a disposition
    resolved   = variance − unresolved

and the status (``recon.status.decide``, the same function the close calls). The rule of which
disposition applies is ``recon.items.resolving``, which the close uses too: one recorded for
this period applies when its open amount equals the item's; otherwise an ``explained`` disposition carried from an
earlier period keeps applying, unless one recorded for this period (for another amount)
replaces it. A test holds the revised figures equal to a fresh reconciliation's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Mapping, Sequence

import pyarrow as pa

from .fx import FxRate, cents_at_least
from .items import ADJUST, EXPLAINED, Disposition, resolving
from .result import money
from .status import Facts, Status, decide

ZERO = Decimal("0.00")
Key = tuple[str, str, str]  # (line, key, bridge)


def _dec(value) -> Decimal:
    return ZERO if value is None or value == "" else Decimal(str(value))


def applied(items: Iterable[Mapping], dispositions: Mapping[Key, Disposition], period: str) -> list[dict]:
    """The proof items with their disposition columns as the dispositions in force decide them
    (``disposition``, ``disposition_id``, ``disposition_period``, and ``carried``). ``items`` are
    rows of the close's items file of one period; a disposition those rows carry from an earlier
    period is kept where nothing recorded for ``period`` takes its place."""
    out = []
    for row in items:
        r = dict(row)
        open_ = _dec(r["open_lcy"])
        mine = dispositions.get((r["line"], r["key"], r["bridge"]))
        earlier = r.get("disposition") == EXPLAINED and r.get("disposition_period") not in (None, period)
        last = Disposition(r["disposition_id"], EXPLAINED, r["line"], r["key"], r["bridge"], open_,
                           r["disposition_period"]) if earlier else None
        found, carry = resolving(open_, mine, last)
        r.update(disposition=None if found is None else found.kind, disposition_id=None if found is None else found.id,
                 disposition_period=None if found is None else found.period, carried=carry)
        out.append(r)
    return out


def applied_table(table: pa.Table, dispositions: Mapping[Key, Disposition], period: str) -> pa.Table:
    """``applied`` over an items table (``close.items.read_items``), in its own schema: what the
    items file would say had the close run with these dispositions."""
    rows = applied(table.to_pylist(), dispositions, period)
    return pa.Table.from_pylist([{f.name: r.get(f.name) for f in table.schema} for r in rows], schema=table.schema)


def revise(line: Mapping, items: Sequence[Mapping], dispositions: Mapping[Key, Disposition], *,
           cause: Disposition | None = None) -> dict:
    """The line dict recomputed with ``dispositions`` (this period's, in force) over ``items``
    (the line's rows of the close's items file), ``revision`` incremented and ``revision_cause``
    naming the disposition (id, SHA-256) that caused it."""
    name, period = line["line"], str(line["period"])
    rows = [r for r in applied((dict(r, line=r.get("line", name)) for r in items), dispositions, period) if r["line"] == name]
    open_rows = [r for r in rows if _dec(r["open_lcy"]) != 0]
    unresolved_rows = [r for r in open_rows if r["disposition"] is None]
    key = line["key_level"]
    tie_outs = (_dec(line["gl_amount"]) - _dec(key["gl_amount"])) - (_dec(line["tv_amount"]) - _dec(key["tv_amount"]))
    unresolved = tie_outs + sum((_dec(r["open_lcy"]) for r in unresolved_rows), ZERO)
    variance = _dec(line["gl_amount"]) - _dec(line["tv_amount"])
    out = dict(line)
    error = line["status"] == Status.ERROR.value
    fx = FxRate(line["entity"], None if line.get("fx_rate") is None else Decimal(line["fx_rate"]))
    if not error:
        out.update(_status(line, fx, rows, unresolved_rows, unresolved))

    def usd(lcy: Decimal) -> str | None:
        return None if error or not fx.ok else money(fx.usd(lcy))

    used = {(name, r["key"], r["bridge"]) for r in rows if r["disposition_id"] is not None and not r["carried"]}
    summary = dict(line.get("reconciling_items") or {})
    summary.update(resolved=len(open_rows) - len(unresolved_rows), unresolved=len(unresolved_rows),
                   carried_dispositions=sum(1 for r in rows if r["carried"]),
                   suspended_dispositions=[d.to_dict() for k, d in dispositions.items() if k[0] == name and k not in used])
    out.update(unresolved_lcy=money(unresolved), unresolved_usd=usd(unresolved), resolved_lcy=money(variance - unresolved),
               resolved_usd=usd(variance - unresolved), reconciling_items=summary,
               proposed_journals=_journals(line.get("proposed_journals") or [], rows, dispositions, name),
               revision=int(line.get("revision") or 0) + 1,
               revision_cause=None if cause is None else {"disposition": cause.id, "sha256": cause.sha256})
    return out


def _status(line: Mapping, fx: FxRate, rows: list[dict], unresolved_rows: list[dict], unresolved: Decimal) -> dict:
    th = line["threshold"]
    material = fx.lcy(Decimal(th["line_item_usd"]))
    floor = None if material is None else cents_at_least(material)
    entries, tv_rows = line.get("gl_entries_in_period"), line.get("tv_rows")
    facts = Facts(fx, (), 0, _dec(line["gl_amount"]), _dec(line["tv_amount"]), unresolved,
                  material_unresolved=0 if floor is None else sum(1 for r in unresolved_rows if abs(_dec(r["open_lcy"])) >= floor),
                  open_items=sum(1 for r in rows if _dec(r["open_lcy"]) != 0),
                  pending_items=sum(1 for r in rows if r.get("state") == "pending"),
                  findings=len(line.get("findings") or ()),
                  gl_entries_in_period=1 if entries is None else int(entries), tv_rows=1 if tv_rows is None else int(tv_rows),
                  bucket_usd=Decimal(th["bucket_usd"]))
    decision = decide(facts)
    auto = decision.auto_certification
    if auto is not None and (entries is None or tv_rows is None):
        auto = line.get("auto_certification") or auto  # a line stored without its activity counts keeps its code
    return {"status": decision.status.value, "reasons": list(decision.reasons),
            "reason": decision.reasons[0] if decision.reasons else (auto or ""),
            "auto_certified": decision.status is Status.RECONCILED and auto is not None, "auto_certification": auto}


def _journals(stored: list[dict], rows: list[dict], dispositions: Mapping[Key, Disposition], name: str) -> list[dict]:
    """The bookings the close proposed, then one entry per ``adjust`` disposition now applying
    (an adjust disposition never rolls forward, so each is one of ``dispositions``)."""
    out = [dict(j) for j in stored if j.get("source") != "adjust"]
    for r in rows:
        if r["disposition"] != ADJUST or r["carried"]:
            continue
        d = dispositions[(name, r["key"], r["bridge"])]
        journal = d.journal or {}
        out.append({"source": "adjust", "bridge": r["bridge"], "debit": journal.get("debit"), "credit": journal.get("credit"),
                    "amount_lcy": money(abs(_dec(r["open_lcy"]))), "description": journal.get("description", ""),
                    "items": [r["key"]], "disposition_id": d.id})
    return out
