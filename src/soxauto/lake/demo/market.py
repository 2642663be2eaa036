"""Marketplace: seller revenue accruals and statements (seller_center.*), refunds and returns.

Each delivered marketplace item creates, 0-12 h after delivery, a ``Revenues`` transaction
(the seller's 85% share) and a ``Fees`` transaction (8-20% commission, negative). Statements
are weekly per vendor (each vendor's week starts on its own weekday); a transaction is on the statement of its week once
that statement exists (the day after the week ends). Postings on 18304: debit at creation,
credit at the statement's end date, each after a lag.
Refunds and returns of marketplace items post on 18317: a refund credits the liability, a
return debits it, each after a lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import write as w
from . import story
from .ledger import (LINE_NAMES, Ledger, OpenClose, TVRows, batch_doc, manual_journals, post_corrected, post_open_close,
                     story_stream)
from .orders import HOUR, Items, item_id
from .world import DAY, NEVER, Entity, Month, Plan, count_for, day_of_ts, few, lag_days, month_end, rng


@dataclass(frozen=True)
class Seller:
    item: np.ndarray
    revenue: np.ndarray  # asg_level_1 = Revenues (else Fees)
    amount: np.ndarray
    created: np.ndarray
    vendor: np.ndarray
    statement: np.ndarray  # index into the statements, -1 none
    st_start: np.ndarray  # per statement: first day
    st_vendor: np.ndarray
    st_paid: np.ndarray

    @property
    def n(self) -> int:
        return len(self.item)

    @property
    def close_ts(self) -> np.ndarray:
        """The statement's end date as a timestamp: IPE_11 compares end_date with C."""
        return np.where(self.statement >= 0, (self.st_start[np.maximum(self.statement, 0)] + 6) * DAY, NEVER)


def simulate(plan: Plan, e: Entity, it: Items) -> Seller:
    r = rng(plan, e, 8)
    delivery = np.where(it.digital, it.delivered_at, it.pkg_delivered)
    items = np.nonzero(it.mpl & (delivery != NEVER) & (it.paid > 0))[0]
    n = len(items)
    created = delivery[items] + r.integers(0, 12 * HOUR, n)
    keep = created < plan.horizon * DAY
    items, created = items[keep], created[keep]
    n = len(items)
    vendors = count_for(plan, e, 3000, floor=5)
    vendor = r.integers(0, vendors, n)
    fee = -(it.paid[items] * r.integers(8, 21, n) // 100)
    item = np.repeat(items, 2)
    revenue = np.tile([True, False], n)
    amount = np.column_stack([it.paid[items] * 85 // 100, fee]).ravel()
    created = np.repeat(created, 2)
    vendor = np.repeat(vendor, 2)
    day = created // DAY
    week = day - (day + 3 - vendor % 7) % 7  # each vendor's weekly cycle starts on its own weekday
    exists = week + 7 < plan.horizon
    comb = week * 1_000_000 + vendor
    uniq, inv = np.unique(comb[exists], return_inverse=True)
    statement = np.full(len(item), -1)
    statement[exists] = inv
    st_start, st_vendor = uniq // 1_000_000, uniq % 1_000_000
    st_paid = (st_start + 7) * DAY + r.integers(2 * DAY, 6 * DAY, len(uniq))
    st_paid = np.where(st_paid < plan.horizon * DAY, st_paid, NEVER)
    return Seller(item, revenue, amount, created, vendor, statement, st_start, st_vendor, st_paid)


def seller_tx_id(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-ST", index, 9)


def statement_id(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-AS", index, 8)


def transactions_table(plan: Plan, e: Entity, s: Seller) -> pa.Table:
    r = rng(plan, e, 9)
    idx = np.arange(s.n)
    return w.table("seller_center.transactions", s.n, dict(
        company_id=e.company_id, transaction_id=seller_tx_id(e, idx), transaction_no=w.ids("TN", idx, 10),
        transaction_type=w.pick(("Item Price Credit", "Commission"), (~s.revenue).astype(np.int64)),
        asg_level_1=w.pick(("Revenues", "Fees"), (~s.revenue).astype(np.int64)), amount=s.amount,
        created_at=s.created, vendor_id=w.ids(e.country + "-S", s.vendor, 5),
        account_statement_id=w.where(s.statement >= 0, statement_id(e, np.maximum(s.statement, 0))),
        sales_order_item_id=item_id(e, s.item), created_manually=r.random(s.n) < 0.01))


def statements_table(plan: Plan, e: Entity, s: Seller) -> pa.Table:
    n = len(s.st_start)
    return w.table("seller_center.account_statements", n, dict(
        company_id=e.company_id, account_statement_id=statement_id(e, np.arange(n)), start_date=s.st_start,
        end_date=s.st_start + 6, paid=s.st_paid != NEVER, paid_at=s.st_paid))


def post_seller(led: Ledger, e: Entity, s: Seller) -> OpenClose:
    """18304 (asset): debit the accrued revenue, credit it when the statement is issued."""
    r = rng(led.plan, e, 10)
    oc = OpenClose(s.created, s.close_ts, s.amount, s.revenue)
    ids = seller_tx_id(e, np.arange(s.n))
    common = dict(gl_account_no="18304", external_document_no=ids, source_code="SC-INTEGR", busline_code="MPL")
    post_open_close(led, r, "SC_ACCRUED", oc, +1,
                    dict(common, description=w.join("Seller revenue accrual ", ids), bal_account_type="G/L Account",
                         bal_account_no="70500"),
                    dict(common, description=w.join("Seller statement ", ids), bal_account_type="Vendor",
                         bal_account_no="40100"))
    # NOT_IN_TV: commission (Fees) transactions accrued as revenue by mistake, corrected later
    fees = np.nonzero(~s.revenue)[0]
    rs = story_stream(led, "SC_ACCRUED", story.MISPOSTING)
    for m in led.plan.months:
        cand = fees[(s.created[fees] >= m.s_ts) & (s.created[fees] < m.n_ts)]
        k = min(len(cand), few(rs, led.plan, e, story.RATES["misposting"]))
        chosen = np.sort(rs.choice(cand, size=k, replace=False))
        day = np.minimum(s.created[chosen] // DAY + lag_days(rs, k), m.cutoff)
        post_corrected(led, rs, "SC_ACCRUED", chosen, -s.amount[chosen], day, "Seller revenue accrual",
                       gl_account_no="18304", external_document_no=ids.take(pa.array(chosen)),
                       document_no=batch_doc("BSCAO", day), source_code="SC-INTEGR", busline_code="MPL",
                       bal_account_type="G/L Account", bal_account_no="70500")
    manual_journals(led, "SC_ACCRUED", ("18304",), "seller accrual")
    return oc


@dataclass(frozen=True)
class RefundReturn:
    """IPE_34 over marketplace items."""

    refunded: np.ndarray
    returned: np.ndarray
    paid: np.ndarray
    mpl: np.ndarray

    def tv(self, m: Month) -> TVRows:
        ref, ret = self.refunded < m.n_ts, self.returned < m.n_ts
        later = np.maximum(np.where(ref, self.refunded, 0), np.where(ret, self.returned, 0))
        settled = ref & ret & (later >= m.s_ts)
        sel = self.mpl & ((ref ^ ret) | settled)
        key = np.nonzero(sel)[0]
        signed = np.where(ref[key] & ~ret[key], self.paid[key], -self.paid[key])
        in_tv = ~settled[key]
        return TVRows(key, in_tv, np.where(in_tv, signed, 0))


def post_refunds(led: Ledger, e: Entity, it: Items) -> RefundReturn:
    """18317 (liability): a refund credits it, a return debits it (booked amount, each lagged).
    Whichever comes first opens the item (posted in its month, as openings are), the other
    closes it; the story disturbs them as it does an open/close line's."""
    r = rng(led.plan, e, 11)
    rr = RefundReturn(it.refunded, it.returned, it.paid, it.mpl)
    keys = np.nonzero(it.mpl & (it.paid > 0) & ((it.refunded != NEVER) | (it.returned != NEVER)))[0]
    n = len(keys)
    ref, ret = day_of_ts(it.refunded[keys]), day_of_ts(it.returned[keys])
    refund_first = it.refunded[keys] <= it.returned[keys]
    first_event, second_event = np.where(refund_first, ref, ret), np.where(refund_first, ret, ref)
    first_day = np.minimum(first_event + lag_days(r, n), month_end(first_event))
    second_day = np.where(second_event != NEVER, second_event + lag_days(r, n), NEVER)
    booked = it.paid[keys].copy()
    story.disturb(led.plan, e, LINE_NAMES.index("MPL_REFUNDS"), first_event, first_day, second_event, second_day, booked)
    ref_day, ret_day = np.where(refund_first, first_day, second_day), np.where(refund_first, second_day, first_day)
    ids = item_id(e, keys)
    common = dict(gl_account_no="18317", external_document_no=ids, source_code="OMS-INTEGR", busline_code="MPL")
    has_ref, has_ret = (ref != NEVER) & (ref_day != NEVER), (ret != NEVER) & (ret_day != NEVER)
    led.post("MPL_REFUNDS", keys, np.where(has_ref, -booked, 0), np.where(has_ref, ref_day, NEVER), event_day=ref,
             document_no=batch_doc("BMRFO", np.where(has_ref, ref_day, 0)), description=w.join("MPL refund ", ids),
             document_type="Refund", bal_account_type="Bank Account", bal_account_no=e.country + "-BNK-002", **common)
    led.post("MPL_REFUNDS", keys, np.where(has_ret, booked, 0), np.where(has_ret, ret_day, NEVER), event_day=ret,
             document_no=batch_doc("BMRFC", np.where(has_ret, ret_day, 0)), description=w.join("MPL return ", ids),
             bal_account_type="Vendor", bal_account_no="40100", **common)
    # NOT_IN_TV: refunds of retail items posted to the marketplace refund account, corrected later
    retail = np.nonzero(~it.mpl & (it.paid > 0) & (it.refunded != NEVER))[0]
    rs = story_stream(led, "MPL_REFUNDS", story.MISPOSTING)
    for m in led.plan.months:
        cand = retail[(it.refunded[retail] >= m.s_ts) & (it.refunded[retail] < m.n_ts)]
        k = min(len(cand), few(rs, led.plan, e, story.RATES["misposting"]))
        chosen = np.sort(rs.choice(cand, size=k, replace=False))
        day = np.minimum(it.refunded[chosen] // DAY + lag_days(rs, k), m.cutoff)
        post_corrected(led, rs, "MPL_REFUNDS", chosen, -it.paid[chosen], day, "MPL refund", gl_account_no="18317",
                       external_document_no=item_id(e, chosen), document_no=batch_doc("BMRFO", day),
                       document_type="Refund", source_code="OMS-INTEGR", bal_account_type="Bank Account",
                       bal_account_no=e.country + "-BNK-002")
    manual_journals(led, "MPL_REFUNDS", ("18317",), "marketplace refund")
    return rr
