"""The ground truth: each line's figures, bridges, items, their states, and its status.

This applies ``docs/semantics.md`` and the domain spec ("Reconciling items", "Thresholds and
status") directly to the in-memory event model, never the product's SQL or code: per key, ``g``
is the sum of the line's G/L entries up to C (negated for a liability; entries without a key
form the key -1, ``manual``), ``t`` the sum of the measure over the key's ``in_tv`` rows;
``delta = g - t``; each bridge claims the keys with ``delta != 0`` that its rule selects. Every
key with ``delta != 0`` is an item (claimed or not). Timing and booking items are cleared by the
key's entries after C, up to the earlier of their window end and the data horizon H; what is
left open, with the tie-out difference, is the line's unresolved amount, which with the open
items' size decides the status (no dispositions: the truth is the state before anyone acts).
All arithmetic is integer cents, so the invariants hold exactly:
``variance = sum(bridges) + unexplained = resolved + unresolved``.

The pack's settings the truth needs are copied here (tests/lake/test_generate.py checks they
equal the pack's files): natures, clearing windows, max age, thresholds, booking journals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Callable, Sequence

import numpy as np

from .ledger import LINES, Posted, TVRows
from .world import Month, date_of

GENERIC = ("MANUAL_ADJUSTMENT", "TIMING", "NOT_POSTED", "NOT_IN_TV", "AMOUNT_DIFFERENCE")
VOUCHER = ("MANUAL_ADJUSTMENT", "TIMING_USAGE", "EXPIRED_NOT_WRITTEN_OFF", "VTC_NOT_BOOKED", "CANCELLED_NOT_BOOKED")
FAMILIES = {"generic": GENERIC, "vouchers": VOUCHER}
NATURES = {
    "generic": {"MANUAL_ADJUSTMENT": "exception", "TIMING": "timing", "NOT_POSTED": "exception",
                "NOT_IN_TV": "exception", "AMOUNT_DIFFERENCE": "exception"},
    "vouchers": {"MANUAL_ADJUSTMENT": "exception", "TIMING_USAGE": "timing", "EXPIRED_NOT_WRITTEN_OFF": "booking",
                 "VTC_NOT_BOOKED": "booking", "CANCELLED_NOT_BOOKED": "booking"},
}
# (debit, credit, description) of each booking bridge's journal
JOURNALS = {
    "EXPIRED_NOT_WRITTEN_OFF": ("18412", "79100", "Write-off of expired store credit vouchers (breakage)"),
    "VTC_NOT_BOOKED": ("18412", "18415", "Refund vouchers converted to cash (VTC)"),
    "CANCELLED_NOT_BOOKED": ("18412", "60950", "Cancellation of store credit vouchers"),
}
DEFAULT_WINDOW_DAYS = 45
WINDOW_DAYS = {"COLLECTIONS": 15, "PACKAGES": 15}
MAX_AGE_DAYS = 90
BUCKET_USD = 1000
LINE_ITEM_USD = 500
LINE_ITEM_USD_BY_ACCOUNT = {("EG", "18412"): 5000}  # (country, account) -> the country contract's rule
UNRESOLVED_ABOVE_BUCKET = "UNRESOLVED_ABOVE_BUCKET"
MATERIAL_ITEM_UNRESOLVED = "MATERIAL_ITEM_UNRESOLVED"
CLEARED, PENDING, UNCLEARED = "cleared", "pending", "uncleared"
MANUAL = -1
_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def decimal_text(cents: int) -> str:
    """Integer cents as a decimal string: -123456 -> '-1234.56'."""
    sign = "-" if cents < 0 else ""
    a = abs(int(cents))
    return f"{sign}{a // 100}.{a % 100:02d}"


def usd_text(cents: int, rate_micros: int) -> str:
    """LCY cents at a rate of LCY per USD (millionths), in USD rounded half-even to the cent."""
    usd = (Decimal(int(cents)) / 100) / (Decimal(int(rate_micros)) / 1_000_000)
    usd = usd.quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return str(usd if usd else Decimal("0.00"))  # no negative zero


def at_least(cents: int, usd: int, rate_micros: int) -> bool:
    """|cents| >= usd x rate, exactly (the threshold in LCY is not rounded)."""
    return abs(int(cents)) * 1_000_000 >= usd * 100 * int(rate_micros)


def window_days(line: str) -> int:
    return WINDOW_DAYS.get(line, DEFAULT_WINDOW_DAYS)


def line_item_usd(country: str, line: str) -> int:
    accounts = LINES[line][0]
    rules = [v for (c, a), v in LINE_ITEM_USD_BY_ACCOUNT.items() if c == country and a in accounts]
    return rules[0] if len(accounts) == 1 and rules else LINE_ITEM_USD


@dataclass(frozen=True)
class Item:
    """One key row with a delta: a reconciling item (``bridge`` None: unclaimed)."""

    key: str
    bridge: str | None
    nature: str | None  # timing | booking | exception; None when unclaimed
    amount: int  # the delta, cents
    age_days: int | None  # None for the manual key
    window_end: int | None = None  # timing and booking: a day
    movement: int | None = None  # presented like g
    cleared: int | None = None
    state: str | None = None
    open: int = 0

    def to_json(self) -> dict:
        money = lambda c: None if c is None else decimal_text(c)  # noqa: E731
        return {"key": self.key, "bridge": self.bridge, "nature": self.nature, "amount": decimal_text(self.amount),
                "state": self.state,
                "window_end": None if self.window_end is None else date_of(self.window_end).isoformat(),
                "movement": money(self.movement), "cleared": money(self.cleared), "open": decimal_text(self.open),
                "age_days": self.age_days}

    def to_json_text(self) -> str:
        """``json.dumps(self.to_json(), separators=(", ", ": "))``, written directly: a lake at
        scale 1 has about 90,000 items per period."""
        def text(v: str | None) -> str:
            return "null" if v is None else _string(v)

        def money(c: int | None) -> str:
            return "null" if c is None else '"' + decimal_text(c) + '"'

        end = "null" if self.window_end is None else '"' + date_of(self.window_end).isoformat() + '"'
        age = "null" if self.age_days is None else str(self.age_days)
        return (f'{{"key": {text(self.key)}, "bridge": {text(self.bridge)}, "nature": {text(self.nature)}, '
                f'"amount": {money(self.amount)}, "state": {text(self.state)}, "window_end": {end}, '
                f'"movement": {money(self.movement)}, "cleared": {money(self.cleared)}, "open": {money(self.open)}, '
                f'"age_days": {age}}}')


@dataclass(frozen=True)
class Runs:
    """The items of a line in the month before: key -> the cutoff (a day) its age run began."""

    keys: np.ndarray  # sorted
    start: np.ndarray

    @staticmethod
    def none() -> "Runs":
        return Runs(np.zeros(0, np.int64), np.zeros(0, np.int64))

    def start_of(self, keys: np.ndarray, cutoff: int) -> np.ndarray:
        """Where each key's run began: carried on from last month, or this cutoff (a new item)."""
        if not len(self.keys):
            return np.full(len(keys), cutoff, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, self.start[pos], cutoff)


@dataclass(frozen=True)
class LineTruth:
    period: str
    company_id: str
    currency: str
    line: str
    gl_amount: int  # cents
    tv_amount: int
    bridges: tuple[tuple[str, int, int], ...]  # (bridge, cents, keys claimed)
    unexplained: int
    country: str = ""
    rate_micros: int = 1_000_000  # CR_05 closing rate, LCY per USD in millionths
    items: tuple[Item, ...] = ()
    activity: bool = True  # a CR_03 entry in the period or a TV row
    tie_out: int = 0  # gl_amount - sum(g): zero unless a defect breaks CR_03/CR_04
    failed_tests: tuple[str, ...] = ()  # error-severity input tests a defect makes fail

    @property
    def variance(self) -> int:
        return self.gl_amount - self.tv_amount

    @property
    def unresolved(self) -> int:
        return self.tie_out + sum(i.open for i in self.items)

    @property
    def resolved(self) -> int:
        return self.variance - self.unresolved

    @property
    def open_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.open != 0)

    @property
    def material_items(self) -> tuple[Item, ...]:
        usd = line_item_usd(self.country, self.line)
        return tuple(i for i in self.open_items if at_least(i.open, usd, self.rate_micros))

    @property
    def status(self) -> tuple[str, tuple[str, ...]]:
        if self.failed_tests:
            return "ERROR", ("INPUT_TEST_FAILED",)
        reasons = []
        if at_least(self.unresolved, BUCKET_USD, self.rate_micros):
            reasons.append(UNRESOLVED_ABOVE_BUCKET)
        if self.material_items:
            reasons.append(MATERIAL_ITEM_UNRESOLVED)
        return ("INVESTIGATE" if reasons else "RECONCILED"), tuple(reasons)

    @property
    def findings(self) -> tuple[dict, ...]:
        overdue = [i for i in self.items if i.nature == "booking" and i.state == UNCLEARED]
        stale = [i for i in self.items if i.state != CLEARED and i.age_days is not None and i.age_days > MAX_AGE_DAYS]
        out = []
        for code, items in (("BOOKING_OVERDUE", overdue), ("STALE_ITEM", stale)):
            if items:
                out.append({"code": code, "severity": "warn", "items": len(items),
                            "amount": decimal_text(sum(i.amount - (i.cleared or 0) for i in items)),
                            "keys": sorted(i.key for i in items)})
        return tuple(out)

    @property
    def auto_certification(self) -> str | None:
        pending = any(i.state == PENDING for i in self.items)
        if self.status[0] != "RECONCILED" or self.findings or self.open_items or pending:
            return None
        if self.gl_amount == 0 and self.tv_amount == 0:
            return "ZERO_BALANCE"
        return "NO_OPEN_ITEMS" if self.activity else "NO_ACTIVITY"

    def proposed_journals(self) -> list[dict]:
        """One per booking bridge: the net of its items' parts not yet cleared."""
        out = []
        for name, (debit, credit, text) in JOURNALS.items():
            items = [i for i in self.items if i.bridge == name]
            net = sum(i.amount - (i.cleared or 0) for i in items)
            if net:
                d, c = (debit, credit) if net > 0 else (credit, debit)
                out.append({"bridge": name, "debit": d, "credit": c, "amount": decimal_text(abs(net)),
                            "description": text, "items": sum(1 for i in items if i.amount != (i.cleared or 0))})
        return out

    def to_json(self, *, item_text: bool = False) -> dict:
        """The line's ground truth; with ``item_text`` each item is already JSON text."""
        status, reasons = self.status
        usd = (lambda c: None) if status == "ERROR" else (lambda c: usd_text(c, self.rate_micros))  # noqa: E731
        timed = [i for i in self.items if i.state is not None]
        return {
            "period": self.period,
            "company_id": self.company_id,
            "line": self.line,
            "currency": self.currency,
            "gl_amount": decimal_text(self.gl_amount),
            "tv_amount": decimal_text(self.tv_amount),
            "variance": decimal_text(self.variance),
            "bridges": {name: decimal_text(c) for name, c, _ in self.bridges},
            "bridge_keys": {name: k for name, _, k in self.bridges},
            "unexplained": decimal_text(self.unexplained),
            "closing_rate": f"{Decimal(self.rate_micros) / 1_000_000:.6f}",
            "tie_out_difference": decimal_text(self.tie_out),
            "unresolved": decimal_text(self.unresolved),
            "resolved": decimal_text(self.resolved),
            "unresolved_usd": usd(self.unresolved),
            "resolved_usd": usd(self.resolved),
            "status": status,
            "reasons": list(reasons),
            "failed_tests": list(self.failed_tests),
            "findings": list(self.findings),
            "auto_certification": self.auto_certification,
            "item_states": {s: sum(1 for i in timed if i.state == s) for s in (CLEARED, PENDING, UNCLEARED)},
            "open_items": len(self.open_items),
            "material_open_items": len(self.material_items),
            "proposed_journals": self.proposed_journals(),
            "items": [i.to_json_text() if item_text else i.to_json() for i in self.items],
        }


def _sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values)
    return out


def _spread(index: np.ndarray, values: np.ndarray, n: int, fill) -> np.ndarray:
    out = np.full(n, fill, dtype=np.asarray(values).dtype)
    out[index] = values
    return out


def key_table(line: str, posted: Posted, tv: TVRows, m: Month) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Keys, their deltas and the claim mask of every bridge of the line's family."""
    _, liability, family = LINES[line]
    sel = posted.day <= m.cutoff
    gk, ga, gi = posted.key[sel], posted.amount[sel], posted.integration[sel]
    keys, inv = np.unique(np.concatenate([gk, tv.key]), return_inverse=True)
    ig, it = inv[: len(gk)], inv[len(gk):]
    n = len(keys)
    g = _sum(ig, ga, n) * (-1 if liability else 1)
    t = _sum(it, np.where(tv.in_tv, tv.measure, 0), n)
    gl_entries = np.bincount(ig, minlength=n)
    rows = np.bincount(it, minlength=n)
    in_tv = np.bincount(it[tv.in_tv], minlength=n)
    delta = g - t
    manual = keys == MANUAL
    real = ~manual
    if family == "generic":
        claims = {
            "MANUAL_ADJUSTMENT": manual,
            "TIMING": real & (rows > 0) & (in_tv == 0),
            "NOT_POSTED": real & (in_tv > 0) & (gl_entries == 0),
            "NOT_IN_TV": real & (rows == 0),
            "AMOUNT_DIFFERENCE": real & (in_tv > 0) & (gl_entries > 0),
        }
    else:
        x = tv.extra or {}
        debit = gi & (ga > 0)
        usage = _sum(ig[debit], ga[debit], n)
        used = _spread(it, x["used"], n, 0)
        expired = _spread(it, x["is_expired"], n, False)
        active = _spread(it, x["active"], n, True)
        reason = _spread(it, x["reason"], n, 0)
        has, live = rows > 0, in_tv > 0
        context = has & ~live & ~expired & ~active
        claims = {
            "MANUAL_ADJUSTMENT": manual,
            "TIMING_USAGE": has & live & (usage < used),
            "EXPIRED_NOT_WRITTEN_OFF": has & ~live & expired,
            "VTC_NOT_BOOKED": context & (reason == 1),
            "CANCELLED_NOT_BOOKED": context & (reason == 2),
        }
    nonzero = delta != 0
    claims = {name: c & nonzero for name, c in claims.items()}
    overlap = np.sum(np.stack(list(claims.values())), axis=0) > 1
    if overlap.any():
        raise AssertionError(f"{line}: bridge rules overlap on keys {keys[overlap][:5].tolist()}")
    return keys, delta, {"g": g, "t": t, **claims}


def movements(posted: Posted, liability: bool, keys: np.ndarray, window_end: np.ndarray, cutoff: int,
              horizon: int) -> np.ndarray:
    """Per key (``keys`` sorted), the sum of its entries with C < posting_date <= min(E, H),
    presented like g."""
    sel = (posted.day > cutoff) & (posted.day <= horizon)
    k, a, d = posted.key[sel], posted.amount[sel], posted.day[sel]
    if not len(keys):
        return np.zeros(0, np.int64)
    pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
    hit = (keys[pos] == k) & (d <= window_end[pos])
    return _sum(pos[hit], a[hit], len(keys)) * (-1 if liability else 1)


def line_truth(line: str, posted: Posted, tv: TVRows, m: Month, company_id: str, currency: str, *,
               country: str = "", rate_micros: int = 1_000_000, horizon: int | None = None,
               runs: Runs | None = None, names: Callable[[np.ndarray], Sequence[str]] | None = None
               ) -> tuple[LineTruth, Runs]:
    """The line's truth for month ``m`` and the age runs its items pass on to the next month.

    ``posted`` is the line's whole ledger (entries after C are its clearing), ``horizon`` H (a
    day; C when None), ``runs`` the items of the month before (None: no history), ``names`` the
    key strings the product shows."""
    _, liability, family = LINES[line]
    keys, delta, parts = key_table(line, posted, tv, m)
    bridges = tuple((name, int(delta[parts[name]].sum()), int(parts[name].sum())) for name in FAMILIES[family])
    gl, tv_amount = int(parts["g"].sum()), int(parts["t"].sum())
    unexplained = gl - tv_amount - sum(b[1] for b in bridges)
    c = m.cutoff
    h = c if horizon is None or horizon < c else horizon
    item = np.nonzero(delta != 0)[0]
    ik, idelta = keys[item], delta[item]
    bridge = np.full(len(item), -1)
    for b, name in enumerate(FAMILIES[family]):
        bridge[parts[name][item]] = b
    natures = NATURES[family]
    start = (runs or Runs.none()).start_of(ik, c)
    window_end = start + window_days(line)
    m_key = movements(posted, liability, ik, window_end, c, h)
    towards = np.maximum(0, -np.sign(idelta) * m_key)
    cleared = np.sign(idelta) * np.minimum(np.abs(idelta), towards)
    cleared = np.where(window_end <= c, 0, cleared)  # E <= C: uncleared at once, nothing read
    state = np.where(cleared == idelta, 0, np.where(h < window_end, 1, 2))
    label = list(names(ik)) if names else [str(k) for k in ik.tolist()]
    items = []
    for j in range(len(item)):
        name = FAMILIES[family][bridge[j]] if bridge[j] >= 0 else None
        nature = natures[name] if name else None
        key = "manual" if ik[j] == MANUAL else label[j]
        age = None if ik[j] == MANUAL else int(c - start[j])
        amount = int(idelta[j])
        if nature in ("timing", "booking"):
            s = (CLEARED, PENDING, UNCLEARED)[state[j]]
            part = int(cleared[j])
            opened = amount - part if nature == "timing" and s == UNCLEARED else 0
            moved = int(m_key[j]) if window_end[j] > c else None  # E <= C: no clearing is read
            items.append(Item(key, name, nature, amount, age, int(window_end[j]), moved, part, s, opened))
        else:
            items.append(Item(key, name, nature, amount, age, open=amount))
    last = len(FAMILIES[family])  # unclaimed items after every bridge's
    order = sorted(range(len(items)), key=lambda j: (bridge[j] if bridge[j] >= 0 else last, items[j].key))
    in_period = (posted.day >= m.start) & (posted.day <= c)
    truth = LineTruth(str(m.period), company_id, currency, line, gl, tv_amount, bridges, unexplained, country,
                      rate_micros, tuple(items[j] for j in order), bool(in_period.any() or len(tv.key)))
    real = ik != MANUAL
    return truth, Runs(ik[real], start[real])
