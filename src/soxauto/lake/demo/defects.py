"""Defects injected on request (``soxauto lake generate --defects NAME,...``).

Each defect breaks exactly one thing a completeness-and-accuracy test exists to catch, in
the first entity and the last requested period, and is recorded in ``ground_truth.json``
(entity, period, table, the offending key) so a test can check that the intended rule, and
only it, fails and names that row. Targets are chosen deterministically from the generated
data with the generator's own small queries (never the product's catalog SQL).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ...errors import UsageError
from .truth import LineTruth
from .world import Month, date_of

NAMES = ("fanout_duplicate", "null_critical", "gl_tie_out", "jdash_mismatch", "stale_refresh", "voucher_recompute")
TV_USES = ("refund", "store_credit", "apology_v2", "jforce", "jpay_store_credit")
TIE_OUT_ACCOUNT, TIE_OUT_LINE, TIE_OUT_CENTS = "13005", "PACKAGES", 100_000  # an asset line: +1,000.00 LCY
ALL_LINES = ("CUSTOMER_AR", "COLLECTIONS", "VOUCHERS", "PREPAYMENTS", "MPL_REFUNDS", "PACKAGES", "SC_ACCRUED")
# defect -> (the error-severity test it makes fail, the lines that read that test's extract and
# so are in ERROR: CR_04 is read by every line of the entity, IPE_07 by CUSTOMER_AR, IPE_08 by
# VOUCHERS, JDASH by none)
FAILS = {
    "fanout_duplicate": ("IPE_07.key", ("CUSTOMER_AR",)),
    "null_critical": ("IPE_07.not_null", ("CUSTOMER_AR",)),
    "gl_tie_out": ("CR_04.tie_out", ALL_LINES),
    "jdash_mismatch": ("JDASH.agrees_with_bob", ()),
    "stale_refresh": ("CR_04.freshness", ALL_LINES),
    "voucher_recompute": ("IPE_08.remaining", ("VOUCHERS",)),
}


@dataclass(frozen=True)
class Defect:
    name: str
    company_id: str
    period: str
    table: str
    key: dict
    detail: str

    def to_json(self) -> dict:
        return {"name": self.name, "entity": self.company_id, "period": self.period, "table": self.table,
                "key": self.key, "detail": self.detail}


def parse(text: str | None) -> tuple[str, ...]:
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    from ...errors import did_you_mean

    for n in names:
        if n not in NAMES:
            raise UsageError(f"unknown defect '{n}'{did_you_mean(n, NAMES)}; known: {', '.join(NAMES)}")
    return names


def inject(names, tables: dict[str, pa.Table], month: Month, company_id: str, truth: list[LineTruth]):
    """Apply the named defects to one entity's tables; return (tables, truth, defects)."""
    defects = []
    for name in names:
        tables, truth, d = _INJECT[name](tables, month, company_id, truth)
        test, lines = FAILS[name]
        truth = [replace(t, failed_tests=t.failed_tests + (test,))
                 if (t.period, t.company_id) == (str(month.period), company_id) and t.line in lines else t for t in truth]
        defects.append(d)
    return tables, truth, defects


def _query(tables: dict[str, pa.Table], sql: str, params: list) -> list[tuple]:
    con = duckdb.connect()
    for name, t in tables.items():
        con.register(name.replace(".", "__"), t)
    return con.execute(sql, params).fetchall()


def _customers(tables, month: Month, want_open: bool) -> str:
    """A customer with documents in IPE_07 at C: one with an open document (want_open), or one
    whose documents there are all fully applied during the period (context rows only)."""
    c, s = date_of(month.cutoff), date_of(month.start)
    rows = _query(tables, """
        WITH doc AS (
          SELECT e.customer_no, e.entry_no, SUM(d.amount_lcy) AS remaining, MAX(d.posting_date) AS last
          FROM nav__customer_ledger_entries e
          JOIN nav__detailed_customer_ledger_entries d ON d.cust_ledger_entry_no = e.entry_no
          WHERE e.posting_date <= ? AND d.posting_date <= ?
          GROUP BY 1, 2)
        SELECT customer_no FROM doc GROUP BY customer_no
        HAVING (? AND SUM(CASE WHEN remaining <> 0 THEN 1 ELSE 0 END) > 0)
            OR (NOT ? AND SUM(CASE WHEN remaining <> 0 THEN 1 ELSE 0 END) = 0
                AND SUM(CASE WHEN last >= ? THEN 1 ELSE 0 END) > 0)
        ORDER BY customer_no LIMIT 1""", [c, c, want_open, want_open, s])
    if not rows:
        raise AssertionError("no customer fits the defect; raise the scale")
    return rows[0][0]


def _fanout(tables, month, company_id, truth):
    customer = _customers(tables, month, want_open=False)
    t = tables["nav.customers"]
    dup = t.filter(pc.equal(t["customer_no"], customer))
    tables = dict(tables, **{"nav.customers": pa.concat_tables([t, dup])})
    return tables, truth, Defect("fanout_duplicate", company_id, str(month.period), "nav.customers",
                                 {"customer_no": customer}, "customer master row duplicated: IPE_07's join fans out")


def _null_critical(tables, month, company_id, truth):
    customer = _customers(tables, month, want_open=True)
    t = tables["nav.customers"]
    tables = dict(tables, **{"nav.customers": t.filter(pc.not_equal(t["customer_no"], customer))})
    return tables, truth, Defect("null_critical", company_id, str(month.period), "nav.customers",
                                 {"customer_no": customer}, "customer missing from the master: IPE_07 customer_name is NULL")


def _balances(tables, month, account, change):
    t = tables["nav.gl_balances"]
    c = date_of(month.cutoff)
    hit = pc.and_(pc.equal(t["closing_date"], pa.scalar(c, pa.date32())), pc.equal(t["gl_account_no"], account))
    if pc.sum(hit).as_py() != 1:
        raise AssertionError(f"expected one balance row for {account} at {c}")
    rows = t.to_pylist()
    for i, h in enumerate(hit.to_pylist()):
        if h:
            rows[i] = change(rows[i])
    return pa.Table.from_pylist(rows, schema=t.schema)


def _gl_tie_out(tables, month, company_id, truth):
    def bump(row):
        return dict(row, balance_lcy=row["balance_lcy"] + Decimal(TIE_OUT_CENTS) / 100)
    tables = dict(tables, **{"nav.gl_balances": _balances(tables, month, TIE_OUT_ACCOUNT, bump)})
    # The balance no longer ties to its entries: the line's GL amount moves and the difference
    # stays unexplained (the key level is computed from the entries, which are unchanged).
    truth = [replace(t, gl_amount=t.gl_amount + TIE_OUT_CENTS, unexplained=t.unexplained + TIE_OUT_CENTS,
                     tie_out=t.tie_out + TIE_OUT_CENTS)
             if (t.period, t.company_id, t.line) == (str(month.period), company_id, TIE_OUT_LINE) else t for t in truth]
    return tables, truth, Defect("gl_tie_out", company_id, str(month.period), "nav.gl_balances",
                                 {"gl_account_no": TIE_OUT_ACCOUNT}, "balance raised by 1,000.00 without an entry")


def _stale_refresh(tables, month, company_id, truth):
    stale = datetime.combine(date_of(month.cutoff), datetime.min.time()) - timedelta(hours=2)
    tables = dict(tables, **{"nav.gl_balances": _balances(tables, month, "18412", lambda r: dict(r, refreshed_at=stale))})
    return tables, truth, Defect("stale_refresh", company_id, str(month.period), "nav.gl_balances",
                                 {"gl_account_no": "18412"}, f"refreshed_at {stale.isoformat()} is before the cutoff")


def _jdash(tables, month, company_id, truth):
    t = tables["jdash.voucher_usage"]
    s = datetime.combine(date_of(month.start), datetime.min.time())
    n = datetime.combine(date_of(month.as_of), datetime.min.time())
    rows = t.to_pylist()
    idx = next((i for i, r in enumerate(rows) if s <= r["used_at"] < n), None)
    if idx is None:
        raise AssertionError("no voucher usage in the period; raise the scale")
    rows[idx] = dict(rows[idx], amount_used=rows[idx]["amount_used"] + Decimal("5.00"))
    tables = dict(tables, **{"jdash.voucher_usage": pa.Table.from_pylist(rows, schema=t.schema)})
    return tables, truth, Defect("jdash_mismatch", company_id, str(month.period), "jdash.voucher_usage",
                                 {"voucher_id": rows[idx]["voucher_id"]}, "usage raised by 5.00 in JDASH only")


def _voucher_recompute(tables, month, company_id, truth):
    t = tables["bob.store_credit_vouchers"]
    c = date_of(month.cutoff)
    n = datetime.combine(date_of(month.as_of), datetime.min.time())
    rows = t.to_pylist()
    # A voucher outside the liability scope, so the target values (and ground truth) stay as they are.
    idx = next((i for i, r in enumerate(rows) if r["snapshot_date"] == c and r["created_at"] < n
                and not (r["business_use"] in TV_USES and r["is_active"] and r["to_date"] >= c)), None)
    if idx is None:
        raise AssertionError("no out-of-scope voucher in the snapshot; raise the scale")
    rows[idx] = dict(rows[idx], remaining_amount=rows[idx]["remaining_amount"] + Decimal("1.00"))
    tables = dict(tables, **{"bob.store_credit_vouchers": pa.Table.from_pylist(rows, schema=t.schema)})
    return tables, truth, Defect("voucher_recompute", company_id, str(month.period), "bob.store_credit_vouchers",
                                 {"voucher_id": rows[idx]["voucher_id"]}, "remaining_amount raised by 1.00: it no longer recomputes")


_INJECT = {
    "fanout_duplicate": _fanout, "null_critical": _null_critical, "gl_tie_out": _gl_tie_out,
    "jdash_mismatch": _jdash, "stale_refresh": _stale_refresh, "voucher_recompute": _voucher_recompute,
}
