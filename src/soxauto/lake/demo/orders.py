"""Orders and order items (bob.sales_orders, oms.sales_order_items) and the prepayment postings.

Life of an order: created; prepaid orders are verified by finance within two hours. 88% are
delivered (physical goods: shipped 12 h-3 d after creation, delivered 1-7 d later, 5% 7-20 d;
digital content and gift cards: delivered 5 min-2 h after creation), 8% are cancelled within
3 days, 4% fail delivery (COD: cancelled; prepaid: returned to the warehouse, refunded 1-5 d
later). 5% of delivered items go through a return: refund first (40%) or return first (60%).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import write as w
from . import story
from .ledger import Ledger, OpenClose, batch_doc, manual_journals, post_corrected, post_open_close, story_stream
from .world import (DAY, ITEMS_PER_MONTH, NEVER, Entity, Plan, benford_cents, clip_future, count_for,
                    day_of_ts, few, in_month, lag_days, rng)

HOUR = 3600
PAYMENT_METHODS = ("JumiaPay", "Card", "BankTransfer", "CashOnDelivery", "NoPayment")
COD, NOPAY = 3, 4
ITEMS_PER_ORDER = (0.55, 0.25, 0.12, 0.08)  # 1-4 items, mean 1.73


@dataclass(frozen=True)
class Orders:
    created: np.ndarray
    first: np.ndarray  # index of the order's first item
    n_items: np.ndarray
    prepaid: np.ndarray
    digital: np.ndarray
    pm: np.ndarray
    shipped: np.ndarray
    delivered: np.ndarray  # package delivered
    cancelled: np.ndarray
    fv: np.ndarray
    total: np.ndarray
    customer: np.ndarray
    mpl: np.ndarray

    @property
    def n(self) -> int:
        return len(self.created)


@dataclass(frozen=True)
class Items:
    order: np.ndarray
    paid: np.ndarray
    mpl: np.ndarray
    prepaid: np.ndarray
    digital: np.ndarray
    fv: np.ndarray
    pkg_delivered: np.ndarray
    delivered_at: np.ndarray
    cancelled: np.ndarray
    refunded: np.ndarray
    returned: np.ndarray

    @property
    def n(self) -> int:
        return len(self.order)

    @property
    def release(self) -> np.ndarray:
        """IPE_10's release time: the earliest of delivery (by delivery type), refund, cancellation."""
        delivery = np.where(self.digital, self.delivered_at, self.pkg_delivered)
        return np.minimum(np.minimum(delivery, self.refunded), self.cancelled)


def simulate(plan: Plan, e: Entity) -> tuple[Orders, Items]:
    r = rng(plan, e, 1)
    per_month = count_for(plan, e, ITEMS_PER_MONTH / 1.73, floor=5)
    created = np.concatenate([in_month(r, m, per_month) for m in plan.months])
    n = len(created)
    digital = r.random(n) < 0.03
    prepaid = digital | (r.random(n) < 0.40)
    pm = np.where(prepaid, r.integers(0, 3, n), np.where(r.random(n) < 0.01, NOPAY, COD))
    outcome = np.where(digital, 0, r.choice(3, n, p=[0.88, 0.08, 0.04]))  # delivered, cancelled, failed
    ship = created + r.integers(12 * HOUR, 3 * DAY, n)
    transit = np.where(r.random(n) < 0.95, r.integers(DAY, 7 * DAY, n), r.integers(7 * DAY, 20 * DAY, n))
    failed = ship + r.integers(2 * DAY, 7 * DAY, n)
    shipped = np.where(digital | (outcome == 1), NEVER, ship)
    delivered = np.where((outcome == 0) & ~digital, ship + transit, NEVER)
    cancelled = np.where(outcome == 1, created + r.integers(HOUR, 3 * DAY, n),
                         np.where((outcome == 2) & ~prepaid, failed, NEVER))
    digital_at = np.where(digital, created + r.integers(300, 2 * HOUR, n), NEVER)
    fv = np.where(prepaid, created + r.integers(60, 2 * HOUR, n), np.where(pm == NOPAY, NEVER, delivered))
    n_items = np.where(digital, 1, r.choice(4, n, p=ITEMS_PER_ORDER) + 1)
    first = np.concatenate([[0], np.cumsum(n_items)[:-1]])
    order = np.repeat(np.arange(n), n_items)
    ni = len(order)
    paid = np.where(pm[order] == NOPAY, 0, benford_cents(r, ni, 1, 3, e))
    mpl = r.random(ni) < 0.5
    # returns after delivery, and the failed prepaid deliveries (returned, then refunded)
    d = np.where(digital[order], NEVER, delivered[order])
    flow = (d != NEVER) & (r.random(ni) < 0.05)
    refund_first = r.random(ni) < 0.4
    a, b = r.integers(DAY, 10 * DAY, ni), r.integers(2 * DAY, 20 * DAY, ni)
    base = np.where(flow, d, 0)
    refunded = np.where(flow, np.where(refund_first, base + a, base + b + a), NEVER)
    returned = np.where(flow, np.where(refund_first, base + a + b, base + b), NEVER)
    fail_o = (outcome == 2) & prepaid
    refunded = np.where(fail_o[order], failed[order] + r.integers(DAY, 5 * DAY, ni), refunded)
    returned = np.where(fail_o[order], failed[order], returned)
    delivered_at = np.where(digital[order], digital_at[order],
                            np.where(d != NEVER, np.where(d != NEVER, d, 0) + DAY, NEVER))  # status sync: +1 d
    h = plan.horizon
    items = Items(order, paid, mpl, prepaid[order], digital[order], clip_future(fv[order], h),
                  clip_future(d, h), clip_future(delivered_at, h), clip_future(cancelled[order], h),
                  clip_future(refunded, h), clip_future(returned, h))
    total = np.add.reduceat(paid, first)
    customers = max(50, n // 3)
    orders = Orders(created, first, n_items, prepaid, digital, pm, clip_future(shipped, h),
                    clip_future(delivered, h), clip_future(cancelled, h), clip_future(fv, h), total,
                    r.integers(0, customers, n), mpl[first])
    return orders, items


def order_nr(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "3", index, 8)


def item_id(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-I", index, 9)


def customer_id(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-C", index, 8)


def _status(*pairs: tuple[np.ndarray, str], default: str) -> pa.Array:
    names = [s for _, s in pairs] + [default]
    code = np.select([t != NEVER for t, _ in pairs], list(range(len(pairs))), len(pairs))
    return w.pick(names, code)


def sales_orders(plan: Plan, e: Entity, o: Orders) -> pa.Table:
    idx = np.arange(o.n)
    status = _status((o.cancelled, "canceled"), (o.delivered, "delivered"), (o.shipped, "shipped"),
                     default="pending")
    return w.table("bob.sales_orders", o.n, dict(
        company_id=e.company_id, order_id=w.ids(e.country + "-O", idx), order_nr=order_nr(e, idx),
        customer_id=customer_id(e, o.customer), order_date=o.created, total_amount=o.total,
        order_status=status))


def sales_order_items(plan: Plan, e: Entity, o: Orders, it: Items, package_of_order: np.ndarray) -> pa.Table:
    r = rng(plan, e, 2)
    n = it.n
    fee = it.paid * r.integers(0, 100, n) // 1000
    ship_disc = np.where(r.random(n) < 0.2, fee, 0)
    cart = np.where(r.random(n) < 0.1, it.paid * r.integers(5, 30, n) // 100, 0)
    nopay = o.pm[it.order] == NOPAY
    coupon = np.where(nopay, benford_cents(r, n, 1, 2, e), np.where(r.random(n) < 0.03, it.paid // 8, 0))
    unit = it.paid - fee + ship_disc + cart + coupon
    pkg = package_of_order[it.order]
    status = _status((it.returned, "returned"), (it.refunded, "refunded"), (it.cancelled, "canceled"),
                     (np.where(it.digital, it.delivered_at, it.pkg_delivered), "delivered"),
                     (o.shipped[it.order], "shipped"), default="payment_pending")
    has_coupon = coupon > 0
    return w.table("oms.sales_order_items", n, dict(
        company_id=e.company_id, sales_order_item_id=item_id(e, np.arange(n)), order_nr=order_nr(e, it.order),
        customer_id=customer_id(e, o.customer[it.order]),
        customer_type=w.pick(("individual", "corporate"), (r.random(n) < 0.08).astype(np.int64)),
        created_at=o.created[it.order], finance_verified_at=it.fv, is_prepayment=it.prepaid,
        is_marketplace=it.mpl, payment_method=w.pick(PAYMENT_METHODS, o.pm[it.order]),
        delivery_type=w.pick(("Standard", "Digital Content", "Gift Card"),
                             np.where(it.digital, 1 + (it.order % 3 == 0), 0)),
        current_status=status, package_id=w.where(pkg >= 0, w.ids(e.country + "-P", np.maximum(pkg, 0))),
        delivered_at=it.delivered_at, package_delivered_at=it.pkg_delivered, cancelled_at=it.cancelled,
        refunded_at=it.refunded, returned_at=it.returned, unit_price=unit, paid_price=it.paid,
        coupon_money_value=coupon, cart_rule_discount=cart, shipping_fee=fee, shipping_discount=ship_disc,
        shipping_voucher_discount=0,
        voucher_code=w.where(has_coupon, w.ids(e.country + "CPN", it.order % 997, 4)),
        voucher_type=w.where(has_coupon, w.pick(("coupon",), np.zeros(n, dtype=np.int64)))))


def post_prepayments(led: Ledger, e: Entity, o: Orders, it: Items) -> OpenClose:
    """18350 (liability): credit when the item is paid, debit when it is released."""
    r = rng(led.plan, e, 3)
    oc = OpenClose(it.fv, it.release, it.paid, it.prepaid & (it.paid > 0))
    nr = order_nr(e, it.order)
    ids = item_id(e, np.arange(it.n))
    delivery = np.where(it.digital, it.delivered_at, it.pkg_delivered)
    reason = np.select([it.release == delivery, it.release == it.refunded], [0, 1], 2)
    common = dict(gl_account_no="18350", external_document_no=ids, source_code="OMS-INTEGR",
                  bal_account_type="Bank Account", bal_account_no=e.country + "-BNK-002")
    post_open_close(led, r, "PREPAYMENTS", oc, -1,
                    dict(common, description=w.join("Prepayment received ", nr), document_type="Payment"),
                    dict(common, description=w.join(w.pick(("Prepayment release delivery ", "Prepayment release refund ",
                                                            "Prepayment release cancellation "), reason), nr)))
    # NOT_IN_TV: cash-on-delivery items posted as if prepaid (unknown to IPE_10), corrected later
    cod = np.nonzero(~it.prepaid & (it.paid > 0))[0]
    created = o.created[it.order]
    rs = story_stream(led, "PREPAYMENTS", story.MISPOSTING)
    for m in led.plan.months:
        cand = cod[(created[cod] >= m.s_ts) & (created[cod] < m.n_ts)]
        k = min(len(cand), few(rs, led.plan, e, story.RATES["misposting"]))
        chosen = np.sort(rs.choice(cand, size=k, replace=False))
        day = np.minimum(day_of_ts(created[chosen]) + lag_days(rs, k), m.cutoff)
        take = pa.array(chosen)
        post_corrected(led, rs, "PREPAYMENTS", chosen, -it.paid[chosen], day,
                       w.join("Prepayment received ", nr.take(take)),
                       gl_account_no="18350", external_document_no=ids.take(take), document_no=batch_doc("BPRPO", day),
                       source_code="OMS-INTEGR", bal_account_type="Bank Account", bal_account_no=e.country + "-BNK-002")
    manual_journals(led, "PREPAYMENTS", ("18350",), "prepayment")
    return oc
