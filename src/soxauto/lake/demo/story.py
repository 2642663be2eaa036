"""The story a month-end close of the demo lake tells: the few things that go wrong, on purpose.

The operational model and the integration's postings (``lag_days``: at most 12 days, inside
every clearing window) reconcile on their own: what they leave at a cutoff is timing that
clears after it. On top of that, each simulated month and line gets a handful of the mistakes
an accounting manager really meets, each kind a Poisson count (``world.few``, the rate below at
scale 0.1 for an entity with all the volume; the largest entity has at least one late opening
and one manual journal per line and month, the two kinds nothing natural makes) from its own
random stream per line (``stream``), so tuning one kind or one line does not reshuffle the
others:

- amount error: the opening is booked with a wrong amount: rounding (±0.01-0.99), two digits
  transposed, or a slipped zero (x10 or /10). AMOUNT_DIFFERENCE (exception) at the cutoff; the
  closing reverses the booked amount, so it is gone once the item closes.
- late opening: the integration rejects the opening; it is re-sent 1-40 days after the cutoff.
  NOT_POSTED (exception) until then.
- late closing: the closing posting comes 1-70 days after the cutoff, a fifth never. TIMING:
  cleared when it comes within the window, else uncleared; NOT_IN_TV (exception) once the item
  has left the report.
- late usage: a voucher usage posting comes as late. TIMING_USAGE, as a late closing.
- mis-posting: a posting on a line it does not belong to (each line's own kind), reversed by a
  person 10-75 days later. NOT_IN_TV (exception) until then.
- customer adjustment: a balance adjustment on the G/L only, 1-5% of an invoice, reversed
  10-75 days later. AMOUNT_DIFFERENCE (exception) until then.
- manual journal: a month-end accrual without a key, 2-200 USD either sign, auto-reversed on the
  first day of the next month. MANUAL_ADJUSTMENT (exception).

Everything here is integer cents and days; floats only draw random numbers.
"""

from __future__ import annotations

import numpy as np

from .world import NEVER, Entity, Plan, few, rng, STORY

RATES = {
    "amount_error": 1.0,
    "late_opening": 0.4,
    "late_closing": 1.0,
    "late_usage": 1.0,
    "misposting": 0.3,
    "customer_adjustment": 0.8,
    "manual_journal": 1.5,
}
# Purposes, each with its own stream per line: STORY + 10 * purpose + line index. A line has
# either late closings or late usages, either mis-postings or customer adjustments.
AMOUNT_ERROR, LATE_OPENING, LATE_CLOSING, MISPOSTING, MANUAL = range(5)
NEVER_SHARE = 0.2  # of late closings and usages: never posted
LATE_OPENING_DAYS = (1, 41)  # after the cutoff, [lo, hi)
LATE_CLOSING_DAYS = (1, 71)
CORRECTION_DAYS = (10, 76)  # after the wrong posting


def stream(plan: Plan, entity: Entity, line_index: int, purpose: int) -> np.random.Generator:
    return rng(plan, entity, STORY + 10 * purpose + line_index)


def amount_errors(r: np.random.Generator, amounts: np.ndarray) -> np.ndarray:
    """The error (cents, signed) in booking each of ``amounts``: 55% rounding, 30% two digits
    transposed (the tens and units of the whole amount), 15% a slipped zero."""
    amounts = np.asarray(amounts, dtype=np.int64)
    n = len(amounts)
    kind = r.choice(3, n, p=[0.55, 0.30, 0.15])
    sign = r.choice(np.array([-1, 1]), n)
    rounding = sign * r.integers(1, 100, n)
    whole = amounts // 100
    units, tens = whole % 10, (whole // 10) % 10
    transposed = 9 * (units - tens) * 100
    slipped = np.where(r.random(n) < 0.5, 9 * amounts, -(amounts - amounts // 10))
    out = np.select([kind == 0, kind == 1], [rounding, transposed], slipped)
    return np.where(out == 0, rounding, out)  # equal digits transpose to nothing: a rounding instead


def disturb(plan: Plan, entity: Entity, line_index: int, open_event: np.ndarray, open_day: np.ndarray,
            close_event: np.ndarray, close_day: np.ndarray, booked: np.ndarray) -> None:
    """Amount errors, late openings and late closings of an open/close line, month by month, in
    place: ``booked`` (cents), ``open_day`` and ``close_day`` (NEVER: not posted). An item is
    either booked wrong or posted late, not both."""
    ra, ro, rc = (stream(plan, entity, line_index, p) for p in (AMOUNT_ERROR, LATE_OPENING, LATE_CLOSING))
    for m in plan.months:
        in_tv = np.nonzero((open_event >= m.start) & (open_event <= m.cutoff) & (close_event > m.cutoff))[0]
        wrong = pick(ra, in_tv, few(ra, plan, entity, RATES["amount_error"]))
        booked[wrong] += amount_errors(ra, booked[wrong])
        k_open = few(ro, plan, entity, RATES["late_opening"], witness=True)
        unposted = pick(ro, np.setdiff1d(in_tv, wrong), k_open)
        open_day[unposted] = m.cutoff + ro.integers(*LATE_OPENING_DAYS, len(unposted))
        closed = np.nonzero((close_event >= m.start) & (close_event <= m.cutoff))[0]
        late = pick(rc, closed, few(rc, plan, entity, RATES["late_closing"]))
        close_day[late] = late_days(rc, m.cutoff, len(late))


def pick(r: np.random.Generator, candidates: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` of ``candidates``, without repetition, sorted."""
    return np.sort(r.choice(candidates, size=min(len(candidates), k), replace=False))


def late_days(r: np.random.Generator, cutoff: int, n: int) -> np.ndarray:
    """Posting days of late postings: 1-70 days after the cutoff, a fifth never (NEVER)."""
    day = cutoff + r.integers(*LATE_CLOSING_DAYS, n)
    return np.where(r.random(n) < NEVER_SHARE, NEVER, day)


def delay_usage(plan: Plan, entity: Entity, line_index: int, event_day: np.ndarray, post_day: np.ndarray) -> None:
    """Late usage postings, month by month, in place."""
    r = stream(plan, entity, line_index, LATE_CLOSING)
    for m in plan.months:
        used = np.nonzero((event_day >= m.start) & (event_day <= m.cutoff))[0]
        late = pick(r, used, few(r, plan, entity, RATES["late_usage"]))
        post_day[late] = late_days(r, m.cutoff, len(late))


def correction_days(r: np.random.Generator, day: np.ndarray) -> np.ndarray:
    return np.asarray(day, dtype=np.int64) + r.integers(*CORRECTION_DAYS, len(day))
