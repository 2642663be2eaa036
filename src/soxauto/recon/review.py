"""Review lists of the customer balances (IPE_07): they carry no amount to bridge, but the
reviewer must see them (domain spec, "Review lists").

- Customers with more than one posting group: their open documents (``in_tv``) sit under
  several posting groups, so their balance is split across receivable accounts.
- Customers whose balance spreads over more than one business line, with the proposed
  reclass: every line's balance moves to the line of largest absolute balance (ties: the
  alphabetically first line code; a document without a business line counts as its own line,
  after every named one). Lines whose documents net to zero need no reclass and are left out.

Only open documents (``in_tv``) count: context rows (fully applied in the period) have no
balance. Both lists are computed in the engine and returned as frozen values.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

import pyarrow as pa
from sqlglot import exp

from ..engines.base import Engine
from ..money import Money
from .classify import EntityPeriod

ZERO, ONE = exp.Literal.number(0), exp.Literal.number(1)


def _open_documents(ipe07: exp.Expression) -> exp.Select:
    return exp.select("*").from_(ipe07.copy()).where(exp.column("in_tv"))


def posting_groups_query(ipe07: exp.Expression) -> exp.Select:
    """One row per (customer, posting group) for customers with more than one group."""
    multi = (exp.select("customer_no").from_("open_docs").group_by("customer_no")
             .having(exp.GT(this=exp.Count(this=exp.Distinct(expressions=[exp.column("customer_posting_group")])), expression=ONE)))
    return (exp.select(exp.column("customer_no", table="o"), exp.column("customer_posting_group", table="o"),
                       exp.alias_(exp.Max(this=exp.column("customer_name", table="o")), "customer_name"),
                       exp.alias_(exp.Count(this=exp.Star()), "documents"),
                       exp.alias_(exp.Sum(this=exp.column("remaining_amount_lcy", table="o")), "balance"))
            .from_(exp.to_table("open_docs").as_("o"))
            .join(exp.to_table("multi").as_("m"), on=exp.EQ(this=exp.column("customer_no", table="m"),
                                                             expression=exp.column("customer_no", table="o")))
            .group_by(exp.column("customer_no", table="o"), exp.column("customer_posting_group", table="o"))
            .order_by("customer_no", "customer_posting_group")
            .with_("open_docs", as_=_open_documents(ipe07)).with_("multi", as_=multi))


def business_lines_query(ipe07: exp.Expression) -> exp.Select:
    """One row per (customer, business line with a non-zero balance) for customers with more
    than one such line: the balance, whether the line is the reclass target, and the amount
    to move (out of every other line: −balance; into the target: Σ of the others)."""
    lines = (exp.select("customer_no", "busline_code", exp.alias_(exp.Count(this=exp.Star()), "documents"),
                        exp.alias_(exp.Sum(this=exp.column("remaining_amount_lcy")), "balance"))
             .from_("open_docs").group_by("customer_no", "busline_code"))
    nonzero = exp.select("*").from_("lines").where(exp.NEQ(this=exp.column("balance"), expression=ZERO))
    spread = (exp.select("customer_no").from_("nonzero").group_by("customer_no")
              .having(exp.GT(this=exp.Count(this=exp.Star()), expression=ONE)))
    null_last = exp.case().when(exp.column("busline_code", table="n").is_(exp.null()), ONE).else_(ZERO)
    order = exp.Order(expressions=[
        exp.Ordered(this=exp.Abs(this=exp.column("balance", table="n")), desc=True),
        exp.Ordered(this=null_last, desc=False),
        exp.Ordered(this=exp.column("busline_code", table="n"), desc=False)])
    by_customer = [exp.column("customer_no", table="n")]
    ranked = (exp.select(exp.column("customer_no", table="n"), exp.column("busline_code", table="n"),
                         exp.column("documents", table="n"), exp.column("balance", table="n"),
                         exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=by_customer, order=order), "rank_in_customer"),
                         exp.alias_(exp.Window(this=exp.Sum(this=exp.column("balance", table="n")),
                                               partition_by=[c.copy() for c in by_customer]), "customer_balance"))
              .from_(exp.to_table("nonzero").as_("n"))
              .join(exp.to_table("spread").as_("s"), on=exp.EQ(this=exp.column("customer_no", table="s"),
                                                                 expression=exp.column("customer_no", table="n"))))
    target = exp.EQ(this=exp.column("rank_in_customer"), expression=ONE)
    move = (exp.case().when(target.copy(), exp.Sub(this=exp.column("customer_balance"), expression=exp.column("balance")))
            .else_(exp.Neg(this=exp.column("balance"))))
    return (exp.select("customer_no", "busline_code", "documents", "balance",
                       exp.alias_(exp.case().when(target, exp.true()).else_(exp.false()), "is_target"),
                       exp.alias_(move, "move_amount"), "customer_balance")
            .from_("ranked").order_by("customer_no", "rank_in_customer")
            .with_("open_docs", as_=_open_documents(ipe07)).with_("lines", as_=lines).with_("nonzero", as_=nonzero)
            .with_("spread", as_=spread).with_("ranked", as_=ranked))


@dataclass(frozen=True)
class Move:
    busline_code: str | None
    balance: Money
    amount: Money  # what the reclass moves: negative out of a line, positive into the target


@dataclass(frozen=True)
class Reclass:
    """Move every business line's balance of one customer to ``target`` (largest |balance|)."""

    customer_no: str
    target: str | None
    balance: Money  # the customer's balance over the lines involved; unchanged by the reclass
    moves: tuple[Move, ...]  # target first, then by decreasing |balance|


@dataclass(frozen=True)
class ReviewResult:
    company_id: str
    period: Any
    currency: str
    posting_groups: pa.Table  # customer_no, customer_posting_group, customer_name, documents, balance
    business_lines: pa.Table  # customer_no, busline_code, documents, balance, is_target, move_amount, customer_balance
    reclasses: tuple[Reclass, ...]
    sql: tuple[str, ...]

    @property
    def multi_group_customers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.posting_groups.column("customer_no").to_pylist()))

    def __rich__(self):
        from rich.console import Group
        from rich.table import Table

        groups = Table(title=f"Several posting groups — {self.company_id} {self.period}")
        for name in ("customer", "posting group", "documents", f"balance ({self.currency})"):
            groups.add_column(name, justify="right" if name.startswith(("documents", "balance")) else "left")
        for r in self.posting_groups.to_pylist():
            groups.add_row(r["customer_no"], r["customer_posting_group"], str(r["documents"]), f"{r['balance']:,.2f}")
        lines = Table(title=f"Business-line reclass — {self.company_id} {self.period}")
        for name in ("customer", "business line", f"balance ({self.currency})", "move", "target"):
            lines.add_column(name, justify="right" if name.startswith(("balance", "move")) else "left")
        for rc in self.reclasses:
            for m in rc.moves:
                lines.add_row(rc.customer_no, m.busline_code or "(none)", f"{m.balance.amount:,.2f}",
                              f"{m.amount.amount:+,.2f}", "◀" if m.busline_code == rc.target else "")
        return Group(groups, lines)


def review_lists(engine: Engine, ipe07_table_expr: exp.Expression, params: EntityPeriod | Mapping[str, Any]) -> ReviewResult:
    """Both review lists for one entity and period from a registered IPE_07 extract."""
    scope = EntityPeriod.of(params)
    groups = engine.run(posting_groups_query(ipe07_table_expr), {})
    lines = engine.run(business_lines_query(ipe07_table_expr), {})
    return ReviewResult(scope.company_id, scope.period, scope.currency, groups.table, lines.table,
                        _reclasses(lines.table, scope.currency), (groups.sql, lines.sql))


def _reclasses(table: pa.Table, currency: str) -> tuple[Reclass, ...]:
    money = lambda v: Money(Decimal(v) + Decimal("0.00"), currency)  # noqa: E731
    out: list[Reclass] = []
    current: list[dict] = []
    for row in table.to_pylist() + [None]:
        if current and (row is None or row["customer_no"] != current[0]["customer_no"]):
            target = next(r for r in current if r["is_target"])
            moves = tuple(Move(r["busline_code"], money(r["balance"]), money(r["move_amount"])) for r in current)
            out.append(Reclass(current[0]["customer_no"], target["busline_code"], money(target["customer_balance"]), moves))
            current = []
        if row is not None:
            current.append(row)
    return tuple(out)
