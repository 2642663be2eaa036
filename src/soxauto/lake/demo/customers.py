"""Customer invoices and payments: nav.customers, customer ledger, detailed entries, AR postings.

Invoices are posted in the subledger on their date, due 15-60 d later; 85% are paid 5-75 d
after the invoice (15% of those partly); 85% of payments are applied the same day, the rest
1-25 d later. The G/L side (13003/13004/13009 by posting group, source_type ``Customer``,
source_no = customer_no) is posted by the integration after the usual lag, which is what makes
per-customer timing differences. Two intercompany customers use the posting group
``INTERCO``, which IPE_07 does not select: their balances are NOT_IN_TV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import write as w
from . import story
from .ledger import Ledger, TVRows, manual_journals, month_days, people, post_corrected, story_stream
from .world import Entity, Month, Plan, benford_cents, count_for, few, rng

GROUPS_NG = ("B2B-NG-NAT", "B2C-NG-NAT", "NTR-NG-NAT", "B2B-NG-INT", "EMP-NAT", "LOAN-REC-NAT", "INTERCO")
GROUPS = ("NATIONAL", "NAT", "EXPORT", "EMP-NAT", "EXCB2B-NAT", "INTERCO")
BUSLINES = ("RET", "MPL", "JPAY")


def groups(e: Entity) -> tuple[str, ...]:
    return GROUPS_NG if e.country == "NG" else GROUPS


def account(group: str) -> str:
    if group == "INTERCO":
        return "13020"  # intercompany receivables: reconciled by the group's IC process, not C-PG-1
    if group.startswith(("B2B", "EXCB2B", "EXPORT")):
        return "13003"
    if group.startswith(("B2C", "NAT")):
        return "13004"
    return "13009"


@dataclass(frozen=True)
class Ledgers:
    n_customers: int
    c_group: np.ndarray
    c_busline: np.ndarray
    doc_customer: np.ndarray
    doc_payment: np.ndarray  # False = invoice
    doc_day: np.ndarray
    doc_due: np.ndarray
    doc_amount: np.ndarray
    doc_group: np.ndarray
    doc_busline: np.ndarray
    d_doc: np.ndarray  # detailed entries
    d_day: np.ndarray
    d_application: np.ndarray
    d_amount: np.ndarray

    def tv(self, m: Month, interco: int) -> TVRows:
        """IPE_07: documents posted by C in a selected group; remaining = detailed entries by C."""
        sel = self.d_day <= m.cutoff
        rem = np.zeros(len(self.doc_day), dtype=np.int64)
        np.add.at(rem, self.d_doc[sel], self.d_amount[sel])
        last = np.full(len(self.doc_day), -1)
        np.maximum.at(last, self.d_doc[sel], self.d_day[sel])
        base = (self.doc_day <= m.cutoff) & (self.doc_group != interco)
        docs = np.nonzero(base & ((rem != 0) | (last >= m.start)))[0]
        return TVRows(self.doc_customer[docs], rem[docs] != 0, rem[docs])


def simulate(plan: Plan, e: Entity) -> Ledgers:
    r = rng(plan, e, 16)
    g = groups(e)
    interco = len(g) - 1
    nc = count_for(plan, e, 15_000, floor=20)
    c_group = np.concatenate([r.integers(0, interco, nc), [interco, interco]])
    c_busline = r.integers(0, len(BUSLINES), nc + 2)
    second = np.where(r.random(nc + 2) < 0.03, (c_group + 1) % interco, -1)
    second[nc:] = -1
    per_month = count_for(plan, e, 20_000, floor=5)
    day = np.concatenate([np.sort(month_days(r, m, per_month + 2)) for m in plan.months])
    n = len(day)
    cust = (nc * r.random(n) ** 3).astype(np.int64)  # a few big accounts, a long tail of occasional ones
    ic = r.random(n) < 2 / (per_month + 2)
    cust = np.where(ic, nc + r.integers(0, 2, n), cust)
    grp = np.where((second[cust] >= 0) & (r.random(n) < 0.3), second[cust], c_group[cust])
    bl = np.where(r.random(n) < 0.05, (c_busline[cust] + 1) % len(BUSLINES), c_busline[cust])
    amount = benford_cents(r, n, 10, 3, e)
    due = day + r.choice([15, 30, 45, 60], n)
    pay_day = day + r.integers(5, 76, n)
    paid = (r.random(n) < 0.85) & (pay_day < plan.horizon)
    part = np.where(r.random(n) < 0.15, amount * r.integers(30, 91, n) // 100, amount)
    apply_day = np.where(r.random(n) < 0.85, pay_day, pay_day + r.integers(1, 26, n))
    applied = paid & (apply_day < plan.horizon)
    pays = np.nonzero(paid)[0]
    # documents: invoices then payments, ordered by posting date (entry_no follows that order)
    d_cust = np.concatenate([cust, cust[pays]])
    d_pay = np.concatenate([np.zeros(n, bool), np.ones(len(pays), bool)])
    d_day = np.concatenate([day, pay_day[pays]])
    d_due = np.concatenate([due, pay_day[pays]])
    d_amt = np.concatenate([amount, -part[pays]])
    source = np.concatenate([np.arange(n), pays])
    order = np.lexsort((source, d_pay, d_day))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    inv_doc, pay_doc = rank[:n], rank[n:]
    ap = np.nonzero(applied)[0]
    apos = np.searchsorted(pays, ap)
    det_doc = np.concatenate([inv_doc, pay_doc, inv_doc[ap], pay_doc[apos]])
    det_day = np.concatenate([day, pay_day[pays], apply_day[ap], apply_day[ap]])
    det_app = np.concatenate([np.zeros(n + len(pays), bool), np.ones(2 * len(ap), bool)])
    det_amt = np.concatenate([amount, -part[pays], -part[ap], part[ap]])
    dorder = np.lexsort((det_app, det_doc, det_day))
    return Ledgers(nc + 2, c_group, c_busline, d_cust[order], d_pay[order], d_day[order], d_due[order],
                   d_amt[order], np.concatenate([grp, grp[pays]])[order], np.concatenate([bl, bl[pays]])[order],
                   det_doc[dorder], det_day[dorder], det_app[dorder], det_amt[dorder])


def customer_no(e: Entity, index: np.ndarray) -> pa.Array:
    return w.ids(e.country + "-CU", index, 6)


def document_no(e: Entity, lg: Ledgers) -> pa.Array:
    idx = np.arange(len(lg.doc_day))
    return w.join(w.pick(("SI-", "PMT-"), lg.doc_payment.astype(np.int64)), w.ids(e.country, idx, 8))


def tables(plan: Plan, e: Entity, lg: Ledgers) -> dict[str, pa.Table]:
    g = groups(e)
    idx = np.arange(lg.n_customers)
    nd = len(lg.doc_day)
    docs = document_no(e, lg)
    acct = [account(x) for x in g]
    kind = lg.doc_payment.astype(np.int64)
    return {
        "nav.customers": w.table("nav.customers", lg.n_customers, dict(
            company_id=e.company_id, customer_no=customer_no(e, idx), customer_name=w.ids("Customer ", idx, 6),
            customer_posting_group=w.pick(g, lg.c_group), busline_code=w.pick(BUSLINES, lg.c_busline))),
        "nav.customer_ledger_entries": w.table("nav.customer_ledger_entries", nd, dict(
            company_id=e.company_id, entry_no=np.arange(1, nd + 1), customer_no=customer_no(e, lg.doc_customer),
            posting_date=lg.doc_day, due_date=lg.doc_due, document_no=docs,
            document_type=w.pick(("Invoice", "Payment"), kind), description=w.join(w.pick(("Invoice ", "Payment "), kind), docs),
            customer_posting_group=w.pick(g, lg.doc_group), busline_code=w.pick(BUSLINES, lg.doc_busline),
            gl_account_no=w.pick(acct, lg.doc_group), currency=e.currency, original_amount=lg.doc_amount,
            original_amount_lcy=lg.doc_amount)),
        "nav.detailed_customer_ledger_entries": w.table("nav.detailed_customer_ledger_entries", len(lg.d_doc), dict(
            company_id=e.company_id, entry_no=np.arange(1, len(lg.d_doc) + 1), cust_ledger_entry_no=lg.d_doc + 1,
            customer_no=customer_no(e, lg.doc_customer[lg.d_doc]), posting_date=lg.d_day,
            entry_type=w.pick(("Initial Entry", "Application"), lg.d_application.astype(np.int64)),
            amount_lcy=lg.d_amount)),
    }


def post_receivables(led: Ledger, e: Entity, lg: Ledgers) -> None:
    """Each customer document's G/L side, posted with it (NAV posts the customer ledger entry and
    its G/L entry in one transaction); plus adjustments on the G/L only and manual journals."""
    g = groups(e)
    docs = document_no(e, lg)
    kind = lg.doc_payment.astype(np.int64)
    led.post("CUSTOMER_AR", lg.doc_customer, lg.doc_amount, lg.doc_day,
             gl_account_no=w.pick([account(x) for x in g], lg.doc_group), document_no=docs,
             document_type=w.pick(("Invoice", "Payment"), kind), external_document_no=docs,
             description=w.join(w.pick(("Invoice ", "Payment "), kind), docs), source_type="Customer",
             source_no=customer_no(e, lg.doc_customer), bal_account_type=w.pick(("G/L Account", "Bank Account"), kind),
             bal_account_no=w.pick(("70100", e.country + "-BNK-001"), kind), source_code="SALES",
             busline_code=w.pick(BUSLINES, lg.doc_busline))
    # AMOUNT_DIFFERENCE: balance adjustments posted on the G/L only, for customers with open
    # invoices, 1-5% of an invoice; found and reversed later
    r = story_stream(led, "CUSTOMER_AR", story.MISPOSTING)
    interco = len(g) - 1
    for m in led.plan.months:
        cand = np.nonzero(~lg.doc_payment & (lg.doc_day >= m.start) & (lg.doc_day <= m.cutoff)
                          & (lg.doc_group != interco))[0]
        k = min(len(cand), few(r, led.plan, e, story.RATES["customer_adjustment"]))
        chosen = np.sort(r.choice(cand, size=k, replace=False))
        day = lg.doc_day[chosen] + r.integers(0, m.cutoff - lg.doc_day[chosen] + 1)
        amt = np.maximum(lg.doc_amount[chosen] * r.integers(1, 6, k) // 100, 1) * r.choice([-1, 1], k)
        post_corrected(led, r, "CUSTOMER_AR", lg.doc_customer[chosen], amt, day, "Customer balance adjustment",
                       user=people(r, k), gl_account_no=w.pick([account(x) for x in g], lg.doc_group[chosen]),
                       document_no=w.ids("GJ-ADJ-", day, 6), source_type="Customer",
                       source_no=customer_no(e, lg.doc_customer[chosen]), bal_account_type="G/L Account",
                       bal_account_no="70100", source_code="GENJNL")
    manual_journals(led, "CUSTOMER_AR", ("13003", "13004", "13009"), "receivable")
