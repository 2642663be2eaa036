"""One entity's lake: simulate its operations, derive its ledger, compute its ground truth."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa

from . import customers, logistics, market, orders, vouchers
from . import write as w
from .ledger import ACCOUNTS, LINE_NAMES, LINES, Ledger
from .truth import LineTruth, Runs, line_truth
from .world import DAY, Entity, Plan, fx_rates

HOUR = 3600


def build(plan: Plan, e: Entity) -> tuple[dict[str, pa.Table], list[LineTruth]]:
    o, it = orders.simulate(plan, e)
    pk, package_of_order, coll = logistics.simulate(plan, e, o)
    seller = market.simulate(plan, e, it)
    vc = vouchers.simulate(plan, e, int(o.customer.max()) + 1)
    lg = customers.simulate(plan, e)
    led = Ledger(plan, e)
    sources = {
        "PREPAYMENTS": orders.post_prepayments(led, e, o, it),
        "PACKAGES": logistics.post_packages(led, e, o, pk),
        "COLLECTIONS": logistics.post_collections(led, e, coll),
        "SC_ACCRUED": market.post_seller(led, e, seller),
        "MPL_REFUNDS": market.post_refunds(led, e, it),
    }
    vouchers.post_vouchers(led, e, vc, o.created)
    customers.post_receivables(led, e, lg)
    gl, posted = led.finish()
    interco = len(customers.groups(e)) - 1
    closing = {(y, mo): int(rate * 1_000_000) for y, mo, kind, rate in fx_rates(e, plan.months) if kind == "Closing"}
    runs = {line: Runs.none() for line in LINE_NAMES}  # the first requested period has no history
    truth = []
    for m in plan.requested:
        balances = posted.balances(m)
        for line in LINE_NAMES:
            tv = lg.tv(m, interco) if line == "CUSTOMER_AR" else vc.tv(m) if line == "VOUCHERS" else sources[line].tv(m)
            lt, runs[line] = line_truth(line, posted.of(line), tv, m, e.company_id, e.currency, country=e.country,
                                        rate_micros=closing[(m.period.year, m.period.month)],
                                        horizon=plan.horizon - 1, runs=runs[line],
                                        names=lambda k, line=line: key_names(e, line, k))
            accounts, liability, _ = LINES[line]
            balance = sum(int(balances[i]) for i, a in enumerate(ACCOUNTS) if a[0] in accounts)
            if lt.gl_amount != (-balance if liability else balance):  # the key level must tie to CR_04
                raise AssertionError(f"{e.company_id} {m.period} {line}: key-level g does not tie to the balance")
            truth.append(lt)
    tables = {
        "ref.companies": companies(e),
        "ref.fx_rates": rates(plan, e),
        "nav.gl_entries": gl,
        "nav.gl_balances": gl_balances(plan, e, posted),
        "nav.bank_accounts": bank_accounts(e),
        **customers.tables(plan, e, lg),
        "bob.store_credit_vouchers": vouchers.snapshots_table(plan, e, vc),
        "bob.sales_orders": orders.sales_orders(plan, e, o),
        "oms.sales_order_items": orders.sales_order_items(plan, e, o, it, package_of_order),
        "oms.packages": logistics.packages_table(plan, e, o, pk),
        "oms.collection_transactions": logistics.collections_table(plan, e, coll),
        "seller_center.transactions": market.transactions_table(plan, e, seller),
        "seller_center.account_statements": market.statements_table(plan, e, seller),
        "jdash.voucher_usage": vouchers.usage_table(plan, e, vc, o.created),
    }
    return tables, truth


def key_names(e: Entity, line: str, keys: np.ndarray) -> list[str]:
    """The key strings the product shows for the line's operational indexes."""
    ids = {"CUSTOMER_AR": customers.customer_no, "COLLECTIONS": logistics.transaction_id,
           "VOUCHERS": vouchers.voucher_id, "PREPAYMENTS": orders.item_id, "MPL_REFUNDS": orders.item_id,
           "PACKAGES": logistics.package_id, "SC_ACCRUED": market.seller_tx_id}[line]
    return ids(e, np.maximum(keys, 0)).to_pylist()


def companies(e: Entity) -> pa.Table:
    return w.table("ref.companies", 1, dict(company_id=e.company_id, company_name=e.name, country_code=e.country,
                                             currency=e.currency, in_conso_scope=True))


def rates(plan: Plan, e: Entity) -> pa.Table:
    rows = fx_rates(e, plan.months)
    micros = np.array([int(r[3] * Decimal(1_000_000)) for r in rows], dtype=np.int64)
    return w.table("ref.fx_rates", len(rows), dict(
        company_id=e.company_id, year=np.array([r[0] for r in rows]), month=np.array([r[1] for r in rows]),
        rate_type=pa.array([r[2] for r in rows]), currency=e.currency, rate_lcy_per_usd=micros))


def gl_accounts() -> pa.Table:
    return w.table("nav.gl_accounts", len(ACCOUNTS), dict(
        gl_account_no=pa.array([a[0] for a in ACCOUNTS]), gl_account_name=pa.array([a[1] for a in ACCOUNTS]),
        account_class=pa.array([a[2] for a in ACCOUNTS])))


RECONCILED = tuple(a for lines in LINES.values() for a in lines[0])


def gl_balances(plan: Plan, e: Entity, posted) -> pa.Table:
    """Balance of each reconciled account at each requested month-end, refreshed the next day at
    03:00; the latest month-end's rows were refreshed again on the extraction day (the day before
    ``plan.horizon``), so the data horizon H (the latest refreshed_at) is that day."""
    index = [i for i, a in enumerate(ACCOUNTS) if a[0] in RECONCILED]
    closing, account, balance = [], [], []
    for m in plan.requested:
        b = posted.balances(m)
        for i in index:
            closing.append(m.cutoff)
            account.append(ACCOUNTS[i][0])
            balance.append(int(b[i]))
    n = len(closing)
    closing_arr = np.array(closing, dtype=np.int64)
    refreshed = np.where(closing_arr == plan.requested[-1].cutoff, plan.horizon - 1, closing_arr + 1)
    return w.table("nav.gl_balances", n, dict(
        company_id=e.company_id, closing_date=closing_arr, gl_account_no=pa.array(account), currency=e.currency,
        balance_lcy=np.array(balance, dtype=np.int64), refreshed_at=refreshed * DAY + 3 * HOUR))


def bank_accounts(e: Entity) -> pa.Table:
    return w.table("nav.bank_accounts", 3, dict(
        company_id=e.company_id, bank_account_no=w.ids(e.country + "-BNK-", np.arange(1, 4), 3),
        service_provider_no=pa.array([None, "SP-JUMIAPAY", "SP-PAYSTACK"]), gl_account_no="51100"))
