"""NAV postings derived from operational events, and the patterns every line shares.

Only the reconciled side of a posting is written as a G/L entry; the balancing side is named
in ``bal_account_type``/``bal_account_no`` (this keeps the ledger light: counterpart accounts
carry no entries and no balances). Every entry also remembers, for the ground truth, which
reconciliation line it belongs to and its key (an operational index, or -1 for no key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import story
from . import write as w
from .world import (INTEGRATION_USER, NEVER, PEOPLE, Entity, Month, Plan, benford_cents, day_of_ts, few, lag_days,
                    month_end)

# line -> (GL accounts, liability?, bridge family)
LINES: dict[str, tuple[tuple[str, ...], bool, str]] = {
    "CUSTOMER_AR": (("13003", "13004", "13009"), False, "generic"),
    "COLLECTIONS": (("13011", "13012"), False, "generic"),
    "VOUCHERS": (("18412",), True, "vouchers"),
    "PREPAYMENTS": (("18350",), True, "generic"),
    "MPL_REFUNDS": (("18317",), True, "generic"),
    "PACKAGES": (("13005",), False, "generic"),
    "SC_ACCRUED": (("18304",), False, "generic"),
}
LINE_NAMES = tuple(LINES)
LINE_TAGS = {"CUSTOMER_AR": "BAR", "COLLECTIONS": "BCOL", "VOUCHERS": "BVCH", "PREPAYMENTS": "BPRP",
             "MPL_REFUNDS": "BMRF", "PACKAGES": "BPKG", "SC_ACCRUED": "BSCA"}
ACCOUNTS = (
    ("13003", "Trade receivables B2B customers", "asset"),
    ("13004", "Trade receivables B2C customers", "asset"),
    ("13005", "Packages delivered not yet reconciled", "asset"),
    ("13009", "Other customer receivables", "asset"),
    ("13020", "Intercompany receivables", "asset"),
    ("13011", "Collections in transit - delivery partners", "asset"),
    ("13012", "Collections in transit - payment providers", "asset"),
    ("18304", "Marketplace seller revenue accrued", "asset"),
    ("18317", "Marketplace refund liability", "liability"),
    ("18350", "Customer prepayments", "liability"),
    ("18412", "Store credit vouchers", "liability"),
    ("18415", "Customer cash refunds clearing", "liability"),
    ("51100", "Bank - main operating account", "asset"),
    ("60950", "Vouchers and marketing expense", "expense"),
    ("70100", "Sales of goods", "income"),
    ("70500", "Marketplace commission revenue", "income"),
    ("40100", "Marketplace sellers payable", "liability"),
    ("79100", "Breakage income - expired vouchers", "income"),
)
GL_COLUMNS = ("document_no", "document_type", "external_document_no", "gl_account_no", "description",
              "bal_account_type", "bal_account_no", "voucher_no", "source_type", "source_no", "user_id",
              "source_code", "busline_code", "comment")


@dataclass(frozen=True)
class Posted:
    """The ground truth's view of the ledger: one element per G/L entry."""

    line: np.ndarray  # index into LINE_NAMES
    key: np.ndarray  # operational index, -1 = no key (manual)
    amount: np.ndarray  # cents, debit +
    day: np.ndarray
    integration: np.ndarray  # user is the integration service
    account: np.ndarray  # index into ACCOUNTS

    def of(self, line: str) -> "Posted":
        """The line's entries on the line's accounts (intercompany documents of CUSTOMER_AR post
        to 13020, outside the line)."""
        accounts = [i for i, a in enumerate(ACCOUNTS) if a[0] in LINES[line][0]]
        sel = (self.line == LINE_NAMES.index(line)) & np.isin(self.account, accounts)
        return Posted(*(a[sel] for a in (self.line, self.key, self.amount, self.day, self.integration, self.account)))

    def balances(self, m: Month) -> np.ndarray:
        """Balance per account (cents, index into ACCOUNTS) with posting_date <= C."""
        sel = self.day <= m.cutoff
        return _sum_by(self.account[sel], self.amount[sel], len(ACCOUNTS))


@dataclass
class Ledger:
    plan: Plan
    entity: Entity
    chunks: list[dict[str, Any]] = field(default_factory=list)

    def post(self, line: str, key: np.ndarray, amount: np.ndarray, day: np.ndarray, *,
             event_day: np.ndarray | None = None, user: str | pa.Array = INTEGRATION_USER, **cols: Any) -> None:
        """Add entries; zero amounts and entries on or after the extraction day are dropped.
        ``cols`` are gl_entries string columns: a scalar, None or a string array per entry."""
        key, amount, day = (np.asarray(a, dtype=np.int64) for a in (key, amount, day))
        keep = (amount != 0) & (day < self.plan.horizon)
        idx = np.nonzero(keep)[0]
        sel = pa.array(idx)
        chunk: dict[str, Any] = {
            "line": LINE_NAMES.index(line),
            "key": key[idx], "amount": amount[idx], "day": day[idx],
            "event_day": (day if event_day is None else np.asarray(event_day, dtype=np.int64))[idx],
            "user_id": user.take(sel) if isinstance(user, pa.Array) else user,
        }
        for name in GL_COLUMNS:
            if name == "user_id":
                continue
            v = cols.pop(name, None)
            chunk[name] = v.take(sel) if isinstance(v, pa.Array) else v
        if cols:
            raise AssertionError(f"unknown gl_entries columns {sorted(cols)}")
        self.chunks.append(chunk)

    def finish(self) -> tuple[pa.Table, Posted]:
        """gl_entries sorted by (posting_date, order of posting); entry_no numbers that order."""
        sizes = [len(c["key"]) for c in self.chunks]
        cat = lambda name: np.concatenate([c[name] for c in self.chunks])  # noqa: E731
        line = np.concatenate([np.full(n, c["line"], dtype=np.int8) for c, n in zip(self.chunks, sizes)])
        key, amount, day, event_day = cat("key"), cat("amount"), cat("day"), cat("event_day")
        order = np.lexsort((np.arange(len(day)), day))
        take = pa.array(order)
        n = len(order)
        strings = {}
        for name in GL_COLUMNS:
            parts = [_expand(c[name], k) for c, k in zip(self.chunks, sizes)]
            strings[name] = pa.concat_arrays(parts).take(take)
        integration = np.asarray(pc_equal(strings["user_id"], INTEGRATION_USER))
        found = pc.index_in(strings["gl_account_no"], value_set=pa.array([a[0] for a in ACCOUNTS]))
        if found.null_count:
            raise AssertionError("gl_entries posted to an account outside the chart")
        account = found.to_numpy()
        cols = dict(strings, company_id=self.entity.company_id, entry_no=np.arange(1, n + 1),
                    posting_date=day[order], document_date=np.minimum(event_day[order], day[order]),
                    amount=amount[order], reversed=False)
        table = w.table("nav.gl_entries", n, cols)
        posted = Posted(line[order], key[order], amount[order], day[order], integration, account.astype(np.int64))
        return table, posted


def _sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values)
    return out


def _expand(value: Any, n: int) -> pa.Array:
    if isinstance(value, pa.Array):
        return value.cast(pa.string())
    return pa.nulls(n, pa.string()) if value is None else pa.repeat(pa.scalar(value, pa.string()), n)


def pc_equal(arr: pa.Array, value: str) -> np.ndarray:
    return pc.fill_null(pc.equal(arr, value), False).to_numpy(zero_copy_only=False)


def people(r: np.random.Generator, n: int) -> pa.Array:
    return w.pick(PEOPLE, r.integers(0, len(PEOPLE), n))


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    d = np.asarray(days, dtype="datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y * 10000 + m * 100 + dd


def batch_doc(tag: str, days: np.ndarray) -> pa.Array:
    """Integration batch document number per day, e.g. BPRP-20250914."""
    return w.ids(tag + "-", yyyymmdd(days), 8)


@dataclass(frozen=True)
class OpenClose:
    """A key that enters the target values at ``open_ts`` and leaves them at ``close_ts``
    (NEVER = still open). It is in the IPE of a month when it opened before N and did not
    close before S: ``in_tv`` when still open at N, context when it closed in the month."""

    open_ts: np.ndarray
    close_ts: np.ndarray
    amount: np.ndarray  # the operational measure, cents
    eligible: np.ndarray  # passes the item's filters (prepaid, payment method, Revenues, ...)

    def tv(self, m: Month) -> "TVRows":
        sel = self.eligible & (self.open_ts < m.n_ts) & (self.close_ts >= m.s_ts)
        key = np.nonzero(sel)[0]
        return TVRows(key, self.close_ts[key] >= m.n_ts, self.amount[key])


@dataclass(frozen=True)
class TVRows:
    key: np.ndarray
    in_tv: np.ndarray
    measure: np.ndarray
    extra: dict[str, np.ndarray] | None = None  # VOUCHERS: per-row voucher state


def post_open_close(led: Ledger, r: np.random.Generator, line: str, oc: OpenClose, sign: int,
                    opening: dict[str, Any], closing: dict[str, Any]) -> None:
    """Post ``sign * booked`` when a key opens and the reverse when it closes, each after the
    integration's lag. Month-end cut-off: the openings of a month are all posted in it (the close
    runs the pending batches with the month's last day as posting date); closings cross the
    cutoff as they come. The story (``story.disturb``) adds amount errors, late openings and late
    closings."""
    keys = np.nonzero(oc.eligible & (oc.open_ts != NEVER))[0]
    n = len(keys)
    open_event = day_of_ts(oc.open_ts[keys])
    open_day = np.minimum(open_event + lag_days(r, n), month_end(open_event))
    close_event = day_of_ts(oc.close_ts[keys])
    close_day = np.where(close_event != NEVER, close_event + lag_days(r, n), NEVER)
    booked = oc.amount[keys].copy()
    story.disturb(led.plan, led.entity, LINE_NAMES.index(line), open_event, open_day, close_event, close_day, booked)
    tag = LINE_TAGS[line]
    led.post(line, keys, sign * booked, open_day, event_day=open_event,
             document_no=batch_doc(tag + "O", open_day), **_at(opening, keys))
    posted = np.nonzero(close_day != NEVER)[0]
    closed = keys[posted]
    led.post(line, closed, -sign * booked[posted], close_day[posted], event_day=close_event[posted],
             document_no=batch_doc(tag + "C", close_day[posted]), **_at(closing, closed))


def story_stream(led: Ledger, line: str, purpose: int) -> np.random.Generator:
    return story.stream(led.plan, led.entity, LINE_NAMES.index(line), purpose)


def post_corrected(led: Ledger, r: np.random.Generator, line: str, key: np.ndarray, amount: np.ndarray,
                   day: np.ndarray, description: str | pa.Array, **cols: Any) -> None:
    """A wrong posting and its correction: the same key and account, reversed by a person 10-75
    days later (``Correction: ...``); a correction on or after the extraction day has not happened."""
    led.post(line, key, amount, day, description=description, **cols)
    fix = story.correction_days(r, day)
    text = w.join("Correction: ", description) if isinstance(description, pa.Array) else "Correction: " + description
    cols = {k: v for k, v in cols.items() if k not in ("document_no", "source_code", "document_type", "user")}
    led.post(line, key, -np.asarray(amount), fix, event_day=fix, user=people(r, len(fix)), description=text,
             document_no=w.ids("GJ-COR-", yyyymmdd(fix), 8), source_code="GENJNL", **cols)


def _at(cols: dict[str, Any], index: np.ndarray) -> dict[str, Any]:
    """Columns given per operational index (or as scalars), restricted to ``index``."""
    sel = pa.array(index)
    return {k: (v.take(sel) if isinstance(v, pa.Array) else v) for k, v in cols.items()}


def manual_journals(led: Ledger, line: str, accounts: tuple[str, ...], what: str) -> None:
    """Month-end accruals posted by hand on the line's accounts without any key (MANUAL_ADJUSTMENT),
    each reversed on the first day of the next month, as accruals are."""
    r = story_stream(led, line, story.MANUAL)
    for m in led.plan.months:
        k = few(r, led.plan, led.entity, story.RATES["manual_journal"], witness=True)
        day = m.start + r.integers(0, m.as_of - m.start, k)
        amount = benford_cents(r, k, 2, 2, led.entity) * r.choice([-1, 1], k)
        acct = w.pick(accounts, r.integers(0, len(accounts), k))
        user = people(r, k)
        common = dict(gl_account_no=acct, bal_account_type="G/L Account", bal_account_no="60950", source_code="GENJNL")
        led.post(line, np.full(k, -1), amount, day, user=user, description=f"Manual {what} adjustment",
                 document_no=w.ids("GJ-", yyyymmdd(day), 8), comment="month-end accrual review", **common)
        back = np.full(k, m.as_of)
        led.post(line, np.full(k, -1), -amount, back, user=user, description=f"Reversal: manual {what} adjustment",
                 document_no=w.ids("GJ-REV-", yyyymmdd(back), 8), comment="auto-reversal of the month-end accrual",
                 **common)


def month_days(r: np.random.Generator, m: Month, k: int) -> np.ndarray:
    return m.start + r.integers(0, m.as_of - m.start, k)

