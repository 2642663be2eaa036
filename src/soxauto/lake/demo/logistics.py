"""Packages and their cash (oms.packages, oms.collection_transactions) and their postings.

Every shipped physical order has one package. A delivered cash-on-delivery package creates a
``Payment`` collection by the delivery partner within 6 h; the partner deposits the cash 1-8 d
later (20%: 8-30 d), and the package is reconciled 0-2 d after the deposit. A prepaid order
creates a ``Payment`` by its payment provider when finance verifies it, settled 1-4 d later
(30%: 4-20 d); a cancelled or refunded prepaid order adds a ``Payment - Rev`` (negative).
A few zero-amount ``Translist in progress`` rows are never posted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import write as w
from . import story
from .ledger import (Ledger, OpenClose, batch_doc, manual_journals, month_days, post_corrected, post_open_close,
                     story_stream)
from .orders import COD, HOUR, NOPAY, PAYMENT_METHODS, Orders, order_nr
from .world import DAY, NEVER, Entity, Plan, benford_cents, clip_future, few, lag_days, rng

PARTNERS = ("Jumia Express", "GIG Logistics", "Kwik Delivery", "Aramex", "DHL Express")
PROVIDERS = ("JumiaPay", "Paystack", "Flutterwave", "Cellulant")
TX_TYPES = ("Payment", "Payment - Rev", "Translist in progress")


@dataclass(frozen=True)
class Packages:
    order: np.ndarray
    delivered: np.ndarray
    reconciled: np.ndarray
    expected: np.ndarray
    eligible: np.ndarray  # not prepaid, pays something: the IPE_12 population filter

    @property
    def n(self) -> int:
        return len(self.order)


@dataclass(frozen=True)
class Collections:
    type: np.ndarray
    partner: np.ndarray  # index into PARTNERS + PROVIDERS
    related_order: np.ndarray
    amount: np.ndarray
    event: np.ndarray
    settled: np.ndarray

    @property
    def n(self) -> int:
        return len(self.type)


def simulate(plan: Plan, e: Entity, o: Orders) -> tuple[Packages, np.ndarray, Collections]:
    """Packages, the package index of each order (-1: none) and the collection transactions."""
    r = rng(plan, e, 4)
    has = o.shipped != NEVER
    order = np.nonzero(has)[0]
    package_of_order = np.full(o.n, -1)
    package_of_order[order] = np.arange(len(order))
    cod = ~o.prepaid[order] & (o.pm[order] == COD)
    dlv = o.delivered[order]
    paid_cod = cod & (dlv != NEVER)
    n = len(order)
    ev = np.where(paid_cod, dlv, 0) + r.integers(0, 6 * HOUR, n)
    settle = ev + np.where(r.random(n) < 0.8, r.integers(DAY, 8 * DAY, n), r.integers(8 * DAY, 30 * DAY, n))
    recon = settle + r.integers(0, 2 * DAY, n)
    h = plan.horizon
    reconciled = clip_future(np.where(paid_cod, recon, NEVER), h)
    expected = np.where(cod, o.total[order], 0)
    pk = Packages(order, dlv, reconciled, expected, ~o.prepaid[order] & (o.pm[order] != NOPAY))
    # collection transactions: partner payments of COD packages, provider payments and reversals
    partner = r.integers(0, len(PARTNERS), n)
    pre = np.nonzero(o.prepaid & (o.fv != NEVER) & (o.total > 0))[0]
    m = len(pre)
    p_set = o.fv[pre] + np.where(r.random(m) < 0.7, r.integers(DAY, 4 * DAY, m), r.integers(4 * DAY, 20 * DAY, m))
    back = np.nonzero(o.prepaid & (o.fv != NEVER) & (o.total > 0) & (o.cancelled != NEVER))[0]
    k = len(back)
    b_ev = np.where(o.cancelled[back] != NEVER, o.cancelled[back], 0) + r.integers(HOUR, DAY, k)
    b_set = b_ev + r.integers(DAY, 10 * DAY, k)
    z = np.nonzero(paid_cod)[0]
    zero = z[r.random(len(z)) < 0.005]
    parts = [
        (np.zeros(len(z), int), partner[z], order[z], expected[z], ev[z], settle[z]),
        (np.zeros(m, int), len(PARTNERS) + r.integers(0, len(PROVIDERS), m), pre, o.total[pre], o.fv[pre], p_set),
        (np.ones(k, int), len(PARTNERS) + r.integers(0, len(PROVIDERS), k), back, -o.total[back], b_ev, b_set),
        (np.full(len(zero), 2), partner[zero], order[zero], np.zeros(len(zero), int), ev[zero],
         np.full(len(zero), NEVER)),
    ]
    cols = [np.concatenate(c) for c in zip(*parts)]
    event = cols[4]
    keep = event < h * DAY
    sort = np.lexsort((cols[2], cols[0], event))
    sort = sort[keep[sort]]
    t, p, rel, amt, evt, st = (c[sort] for c in cols)
    coll = Collections(t, p, rel, amt, evt, clip_future(st, h))
    return pk, package_of_order, coll


def package_id(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-P", index, 9)


def transaction_id(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-CT", index, 9)


def packages_table(plan: Plan, e: Entity, o: Orders, pk: Packages) -> pa.Table:
    r = rng(plan, e, 5)
    idx = np.arange(pk.n)
    done = pk.reconciled != NEVER
    trouble = done & (r.random(pk.n) < 0.03)
    received = np.where(done, pk.expected, 0)
    status = np.select([done, pk.delivered != NEVER, o.cancelled[pk.order] != NEVER], [0, 1, 2], 3)
    partner = r.integers(0, len(PARTNERS), pk.n)
    return w.table("oms.packages", pk.n, dict(
        company_id=e.company_id, package_id=package_id(e, idx), package_number=w.ids("PKG", idx, 10),
        order_nr=order_nr(e, pk.order), payment_method=w.pick(PAYMENT_METHODS, o.pm[pk.order]),
        is_prepayment=o.prepaid[pk.order], is_marketplace=o.mpl[pk.order], shipped_at=o.shipped[pk.order],
        delivered_at=pk.delivered, amount_expected=pk.expected, amount_received=received,
        status=w.pick(("reconciled", "delivered", "failed", "in_transit"), status),
        collection_partner=w.where(pk.delivered != NEVER, w.pick(PARTNERS, partner)),
        reconciled_at=pk.reconciled,
        troubleshoot_resolved_at=np.where(trouble, np.where(done, pk.reconciled, 0) - HOUR, NEVER)))


def collections_table(plan: Plan, e: Entity, c: Collections) -> pa.Table:
    return w.table("oms.collection_transactions", c.n, dict(
        company_id=e.company_id, transaction_id=transaction_id(e, np.arange(c.n)),
        transaction_type=w.pick(TX_TYPES, c.type), collection_partner=w.pick(PARTNERS + PROVIDERS, c.partner),
        related_entity=order_nr(e, c.related_order), amount=c.amount, event_at=c.event, settled_at=c.settled,
        status=w.pick(("open", "settled"), (c.settled != NEVER).astype(np.int64))))


def post_packages(led: Ledger, e: Entity, o: Orders, pk: Packages) -> OpenClose:
    """13005 (asset): debit at delivery, credit when the cash is reconciled."""
    r = rng(led.plan, e, 6)
    oc = OpenClose(pk.delivered, pk.reconciled, pk.expected, pk.eligible & (pk.expected > 0))
    ids = package_id(e, np.arange(pk.n))
    common = dict(gl_account_no="13005", external_document_no=ids, source_code="OMS-INTEGR")
    post_open_close(led, r, "PACKAGES", oc, +1,
                    dict(common, description=w.join("Sales delivery ", ids), bal_account_type="G/L Account",
                         bal_account_no="70100"),
                    dict(common, description=w.join("Cash reconciled ", ids), bal_account_type="G/L Account",
                         bal_account_no="13011"))
    # NOT_IN_TV: prepaid packages posted as if cash was to be collected (IPE_12 excludes them), corrected later
    prepaid = np.nonzero(o.prepaid[pk.order] & (pk.delivered != NEVER) & (o.total[pk.order] > 0))[0]
    rs = story_stream(led, "PACKAGES", story.MISPOSTING)
    for m in led.plan.months:
        cand = prepaid[(pk.delivered[prepaid] >= m.s_ts) & (pk.delivered[prepaid] < m.n_ts)]
        k = min(len(cand), few(rs, led.plan, e, story.RATES["misposting"]))
        chosen = np.sort(rs.choice(cand, size=k, replace=False))
        day = np.minimum(pk.delivered[chosen] // DAY + lag_days(rs, k), m.cutoff)
        take = pa.array(chosen)
        post_corrected(led, rs, "PACKAGES", chosen, o.total[pk.order[chosen]], day,
                       w.join("Sales delivery ", ids.take(take)),
                       gl_account_no="13005", external_document_no=ids.take(take), document_no=batch_doc("BPKGO", day),
                       source_code="OMS-INTEGR", bal_account_type="G/L Account", bal_account_no="70100")
    manual_journals(led, "PACKAGES", ("13005",), "package")
    return oc


def post_collections(led: Ledger, e: Entity, c: Collections) -> OpenClose:
    """13011 partners / 13012 providers (asset): the signed amount at the event, reversed at settlement."""
    r = rng(led.plan, e, 7)
    oc = OpenClose(c.event, c.settled, c.amount, c.amount != 0)
    ids = transaction_id(e, np.arange(c.n))
    acct = w.pick(("13011", "13012"), (c.partner >= len(PARTNERS)).astype(np.int64))
    common = dict(gl_account_no=acct, external_document_no=ids, source_code="CASHRECJNL")
    post_open_close(led, r, "COLLECTIONS", oc, +1,
                    dict(common, description=w.join(w.pick(TX_TYPES, c.type), " ", ids), document_type="Payment",
                         bal_account_type="G/L Account", bal_account_no="13005"),
                    dict(common, description=w.join("Settlement ", ids), bal_account_type="Bank Account",
                         bal_account_no=e.country + "-BNK-001"))
    # NOT_IN_TV: partner remittances whose reference is unknown to OMS, reallocated once identified
    rs = story_stream(led, "COLLECTIONS", story.MISPOSTING)
    for j, m in enumerate(led.plan.months):
        k = few(rs, led.plan, e, story.RATES["misposting"])
        keys = c.n + 1000 * j + np.arange(k)
        day = month_days(rs, m, k)
        post_corrected(led, rs, "COLLECTIONS", keys, benford_cents(rs, k, 5, 2, e), day,
                       "Unidentified partner remittance",
                       gl_account_no="13011", external_document_no=transaction_id(e, keys),
                       document_no=batch_doc("BCOLO", day), document_type="Payment", source_code="CASHRECJNL",
                       bal_account_type="G/L Account", bal_account_no="13005")
    manual_journals(led, "COLLECTIONS", ("13011", "13012"), "collections")
    return oc
