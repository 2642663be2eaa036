"""Reconciling items: what explains each claimed key row (domain spec "Reconciling items").

Every key row a bridge claims, and every key row with a delta no bridge claims, is an item.
What explains it depends on its bridge's nature:

* timing: the GL entries after the cutoff (CR_06) that move the key towards its target value
  within the window ``[C, min(E, H)]``, E = the cutoff of the first period of the item's age
  run + the line's clearing window W. The cleared part is
  ``sign(delta) × min(|delta|, max(0, −sign(delta) × m))``; the item is ``cleared`` when that is
  all of it, ``pending`` while the data has not reached E (H < E) and ``uncleared`` after
  (or at once when E ≤ C). Only the uncleared rest is open.
* booking: explained in every state (the bridge declares the journal that books it); its state
  is read as for timing, so a booking made after the cutoff shows.
* exception, and unclaimed rows: open for their whole amount until a disposition resolves them.

An open item with a disposition for its open amount is resolved. ``unresolved`` = the tie-out
difference + Σ open amounts without a disposition, and ``resolved`` = variance − unresolved, so
that variance = Σ bridges + unexplained = resolved + unresolved, exactly, in LCY.

This module is arithmetic over rows the line's queries returned: it reads no engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

ZERO = Decimal("0.00")
TIMING, BOOKING, EXCEPTION = "timing", "booking", "exception"
CLEARED, PENDING, UNCLEARED = "cleared", "pending", "uncleared"
EXPLAINED, ADJUST = "explained", "adjust"
UNCLAIMED = "UNEXPLAINED"  # the bridge name of key rows no rule claims (close.items, dispositions)
MONEY = pa.decimal128(38, 2)
ITEM_SCHEMA = pa.schema([
    ("key", pa.string()), ("amount_lcy", MONEY), ("material", pa.bool_()), ("nature", pa.string()),
    ("state", pa.string()), ("movement_lcy", MONEY), ("cleared_lcy", MONEY), ("open_lcy", MONEY),
    ("first_cutoff", pa.date32()), ("window_end", pa.date32()), ("age_days", pa.int32()),
    ("disposition", pa.string()), ("disposition_id", pa.string()), ("disposition_period", pa.string()),
])
CLEARING_SCHEMA = pa.schema([
    ("key", pa.string()), ("entry_no", pa.int64()), ("document_no", pa.string()), ("posting_date", pa.date32()),
    ("amount_lcy", MONEY), ("counted", pa.bool_()),
])


@dataclass(frozen=True)
class Disposition:
    """A preparer's word on one open item: ``explained`` (a reason) or ``adjust`` (a proposed
    journal entry). It holds for the open amount it was given for, on its (line, key, bridge)."""

    id: str
    kind: str
    line: str
    key: str
    bridge: str  # UNCLAIMED for a row no rule claims
    open_lcy: Decimal
    period: str  # the period it was recorded for
    reason: str = ""
    journal: Mapping | None = None
    sha256: str = ""

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "period": self.period, "reason": self.reason,
                "open_lcy": str(self.open_lcy), "journal": dict(self.journal) if self.journal else None, "sha256": self.sha256}


@dataclass(frozen=True)
class PriorItem:
    """What the previous month's latest completed close said of an item with the same
    (line, key): where its age run starts, and the explained disposition it carried."""

    first_cutoff: date
    bridge: str
    open_lcy: Decimal
    disposition: Disposition | None = None


@dataclass(frozen=True)
class ItemHistory:
    """The workflow state one entity's reconciliation reads from the run store: last month's
    items (ages and roll-forward) and the dispositions recorded for this period. Recorded in
    the run's evidence, so a re-run's result is explained by its lake and this."""

    prior: Mapping[tuple[str, str], PriorItem] = field(default_factory=dict)
    dispositions: Mapping[tuple[str, str, str], Disposition] = field(default_factory=dict)
    previous_run: str | None = None  # the run the prior items come from

    def to_dict(self) -> dict:
        return {"previous_run": self.previous_run, "prior_items": len(self.prior),
                "dispositions": sorted(d.sha256 or d.id for d in self.dispositions.values())}


NO_HISTORY = ItemHistory()


@dataclass(frozen=True)
class Item:
    key: str
    bridge: str  # UNCLAIMED when no rule claims it
    nature: str
    amount: Decimal
    material: bool | None  # |amount| at or above the line-item threshold; None without an FX rate
    state: str | None
    movement: Decimal
    cleared: Decimal
    open: Decimal
    first_cutoff: date | None
    window_end: date | None
    age_days: int | None
    disposition: Disposition | None
    carried: bool

    @property
    def unresolved(self) -> Decimal:
        return ZERO if self.disposition is not None else self.open


@dataclass(frozen=True)
class LineItems:
    items: tuple[Item, ...]
    clearing: pa.Table  # CLEARING_SCHEMA: every post-cutoff entry of a timing or booking item's key
    suspended: tuple[Disposition, ...] = ()  # dispositions whose item changed (amount, bridge) or is no longer open

    def of(self, bridge: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.bridge == bridge)

    @property
    def open_unresolved(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.open != 0 and i.disposition is None)

    def unresolved_lcy(self) -> Decimal:
        return sum((i.unresolved for i in self.items), ZERO)

    def table(self, bridge: str) -> pa.Table:
        return item_table(self.of(bridge))


def sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def cleared_part(delta: Decimal, movement: Decimal) -> Decimal:
    """Only a movement towards the target value clears, never more than the item."""
    s = sign(delta)
    return s * min(abs(delta), max(ZERO, -s * movement)) + ZERO  # + ZERO: never a "-0.00"


def resolving(open_: Decimal, mine: Disposition | None, carried: Disposition | None) -> tuple[Disposition | None, bool]:
    """Which disposition resolves an item of open amount ``open_``, and whether it is carried:
    one recorded for this period (``mine``) when given for that amount; otherwise, when none
    was recorded for this period, an ``explained`` one carried from the month before (the
    caller passes it only for the same bridge and open amount). ``adjust`` never rolls forward."""
    if open_ == 0:
        return None, False
    if mine is not None:
        return (mine, False) if mine.open_lcy == open_ else (None, False)
    if carried is not None and carried.kind == EXPLAINED:
        return carried, True
    return None, False


def line_items(line: str, rows: Iterable[Mapping], natures: Mapping[str, str], clearing: Iterable[Mapping], *,
               cutoff: date, horizon: date, window_days: int, history: ItemHistory = NO_HISTORY) -> LineItems:
    """The items of one line. ``rows``: key rows with a delta (item_key, bridge or None,
    is_manual, delta, material); ``clearing``: CR_06 entries (item_key, entry_no, document_no,
    posting_date, amount presented like g) of the keys of timing and booking items."""
    entries: dict[str, list[Mapping]] = {}
    for e in clearing:
        entries.setdefault(e["item_key"], []).append(e)
    out: list[Item] = []
    counted_rows: list[dict] = []
    used: set[tuple[str, str, str]] = set()
    for r in rows:
        key, delta = str(r["item_key"]), Decimal(r["delta"])
        if delta == 0:
            continue
        bridge = r["bridge"] or UNCLAIMED
        nature = natures.get(bridge, EXCEPTION)
        manual = bool(r["is_manual"])
        prior = None if manual else history.prior.get((line, key))
        first = None if manual else (prior.first_cutoff if prior else cutoff)
        state = window_end = None
        movement = cleared = ZERO
        if nature in (TIMING, BOOKING) and not manual:
            window_end = first + timedelta(days=window_days)
            bound = min(window_end, horizon)
            for e in entries.get(key, ()):
                counted = e["posting_date"] <= bound
                if counted:
                    movement += Decimal(e["amount"])
                counted_rows.append({"key": key, "entry_no": e["entry_no"], "document_no": e["document_no"],
                                     "posting_date": e["posting_date"], "amount_lcy": Decimal(e["amount"]), "counted": counted})
            cleared = cleared_part(delta, movement) if window_end > cutoff else ZERO
            state = CLEARED if cleared == delta else (PENDING if horizon < window_end else UNCLEARED)
        if nature == TIMING:
            open_ = delta - cleared if state == UNCLEARED else ZERO
        elif nature == BOOKING:
            open_ = ZERO
        else:
            open_ = delta
        mine = history.dispositions.get((line, key, bridge))
        last = prior.disposition if prior is not None and prior.bridge == bridge and prior.open_lcy == open_ else None
        disposition, carried = resolving(open_, mine, last)
        if disposition is not None and not carried:
            used.add((line, key, bridge))
        out.append(Item(key, bridge, nature, delta, r["material"], state, movement, cleared, open_, first,
                        window_end, None if first is None else (cutoff - first).days, disposition, carried))
    suspended = tuple(d for k, d in history.dispositions.items() if k[0] == line and k not in used)
    return LineItems(tuple(out), pa.Table.from_pylist(counted_rows, schema=CLEARING_SCHEMA), suspended)


def prior_from_items(table: pa.Table) -> dict[tuple[str, str], PriorItem]:
    """Last month's items (the close's items file: line, period, key, bridge, open_lcy,
    first_cutoff, disposition, disposition_id, disposition_period) as this month's history.
    The manual key has no age and its disposition never rolls forward, so it is left out."""
    out: dict[tuple[str, str], PriorItem] = {}
    keep = table.filter(pc.is_valid(table["first_cutoff"]))
    for r in keep.select(["period", "line", "key", "bridge", "open_lcy", "first_cutoff", "disposition", "disposition_id",
                          "disposition_period"]).to_pylist():
        open_lcy = Decimal(r["open_lcy"])
        carried = None
        if r["disposition"] == EXPLAINED:
            carried = Disposition(r["disposition_id"], EXPLAINED, r["line"], r["key"], r["bridge"], open_lcy,
                                  r["disposition_period"] or r["period"])
        out[(r["line"], r["key"])] = PriorItem(r["first_cutoff"], r["bridge"], open_lcy, carried)
    return out


def item_table(items: Iterable[Item]) -> pa.Table:
    return pa.Table.from_pylist([{
        "key": i.key, "amount_lcy": i.amount, "material": i.material, "nature": i.nature, "state": i.state,
        "movement_lcy": i.movement, "cleared_lcy": i.cleared, "open_lcy": i.open, "first_cutoff": i.first_cutoff,
        "window_end": i.window_end, "age_days": i.age_days,
        "disposition": None if i.disposition is None else i.disposition.kind,
        "disposition_id": None if i.disposition is None else i.disposition.id,
        "disposition_period": None if i.disposition is None else i.disposition.period,
    } for i in items], schema=ITEM_SCHEMA)


def proposed_journals(items: LineItems, journals: Mapping[str, Mapping]) -> list[dict]:
    """One entry per booking bridge with a non-zero net of its items' parts not yet cleared
    (declared debit/credit when that net, presented, is positive; reversed when negative), and
    one per ``adjust`` disposition."""
    out = []
    for bridge, journal in journals.items():
        mine = [i for i in items.items if i.bridge == bridge and i.amount - i.cleared != 0]
        net = sum((i.amount - i.cleared for i in mine), ZERO)
        if net == 0:
            continue
        debit, credit = (journal["debit"], journal["credit"]) if net > 0 else (journal["credit"], journal["debit"])
        out.append({"source": "booking", "bridge": bridge, "debit": debit, "credit": credit, "amount_lcy": abs(net),
                    "description": journal["description"], "items": [i.key for i in mine]})
    for i in items.items:
        d = i.disposition
        if d is not None and d.kind == ADJUST and d.journal:
            out.append({"source": "adjust", "bridge": i.bridge, "debit": d.journal.get("debit"), "credit": d.journal.get("credit"),
                        "amount_lcy": abs(i.open), "description": d.journal.get("description", ""), "items": [i.key],
                        "disposition_id": d.id})
    return out
