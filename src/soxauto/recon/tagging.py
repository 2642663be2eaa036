"""Collections open items (IPE_31) tagged with their accounting rule and debit/credit accounts.

The rules are an ordered, versioned file (``packs/cpg1/recon/collections_rules.yaml``); the
first rule whose conditions all hold tags a row, in one SQL CASE in the engine. A row no rule
tags is reported (never dropped).

Why shadowing is decidable here: a condition is a conjunction of per-column sets, each an IN
list, a NOT IN list or a list of prefixes. Two strings that agree on every IN/NOT IN value and
on the longest listed prefix they start with are treated alike by every rule, so each column
has finitely many classes, each with one representative (every listed value, every prefix
followed by NUL, and NUL alone for "none of these"). A rule is shadowed exactly when every
combination of representatives it accepts is accepted first by an earlier rule (by one rule
or by several together). The check runs when the file loads.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from ..engines.base import Engine
from ..money import Money
from .classify import EntityPeriod
from .rulefile import RuleFile, check_name, in_set, load_rule_file, prefix_any, string_list

COLUMNS = ("transaction_type", "collection_partner", "related_entity", "status")
OPS = ("in", "not_in", "prefix")
SENTINEL = "\x00"
MAX_COMBINATIONS = 1_000_000


def default_rules_path() -> Path:
    from ..catalog.loader import default_pack

    return default_pack() / "recon" / "collections_rules.yaml"


@dataclass(frozen=True)
class ColumnCondition:
    column: str
    op: str  # in | not_in | prefix
    values: tuple[str, ...]

    def matches(self, value: str) -> bool:
        if self.op == "in":
            return value in self.values
        if self.op == "not_in":
            return value not in self.values
        return value.startswith(self.values)

    def sql(self) -> exp.Expression:
        if self.op == "prefix":
            return prefix_any(self.column, self.values)
        return in_set(self.column, self.values, negate=self.op == "not_in")


@dataclass(frozen=True)
class TagRule:
    id: str
    accounting_rule: str
    debit: str
    credit: str
    when: tuple[ColumnCondition, ...]
    where: str  # file:line

    def condition(self, column: str) -> ColumnCondition | None:
        return next((c for c in self.when if c.column == column), None)

    def matches(self, point: Mapping[str, str]) -> bool:
        return all(c.matches(point[c.column]) for c in self.when)

    def sql(self) -> exp.Expression:
        return exp.and_(*(c.sql() for c in self.when)) if self.when else exp.true()


@dataclass(frozen=True)
class TagRules:
    path: str
    version: str
    sha256: str
    accounting_rules: tuple[str, ...]
    rules: tuple[TagRule, ...]


def load_collection_rules(path: str | Path | None = None) -> TagRules:
    rf = load_rule_file(path or default_rules_path(), header=("accounting_rules",),
                        required=("accounting_rule", "debit", "credit", "when"))
    if "accounting_rules" not in rf.header:
        rf.problem(rf.doc.at(), "missing required key 'accounting_rules'")
    names = string_list(rf, ("accounting_rules",), rf.header.get("accounting_rules", []), "an accounting rule")
    rules = []
    for raw in rf.rules:
        where = ("rules", raw.index)
        check_name(rf, where + ("accounting_rule",), raw.body.get("accounting_rule"), names, "accounting rule")
        accounts = []
        for side in ("debit", "credit"):
            value = string_list(rf, where + (side,), raw.body.get(side), f"the {side} account")
            accounts.append(value[0] if len(value) == 1 else "")
            if len(value) > 1:
                rf.problem(rf.doc.at(*where, side), f"the {side} account must be one GL account, not a list")
        if accounts[0] and accounts[0] == accounts[1]:
            rf.problem(rf.doc.at(*where, "credit"), f"debit and credit are the same account {accounts[0]}")
        when = _conditions(rf, where + ("when",), raw.body.get("when"))
        rules.append(TagRule(raw.id, str(raw.body.get("accounting_rule")), accounts[0], accounts[1], when, raw.where))
    if not rf.problems:
        shadowing(rf, rules)
    rf.raise_if_problems()
    return TagRules(str(rf.path), rf.version, rf.sha256, names, tuple(rules))


def _conditions(rf: RuleFile, where: tuple, when: Any) -> tuple[ColumnCondition, ...]:
    if not isinstance(when, dict) or not when:
        rf.problem(rf.doc.at(*where), f"'when' must be a mapping of column conditions on {', '.join(COLUMNS)}")
        return ()
    out = []
    for column, spec in when.items():
        here = where + (column,)
        if not check_name(rf, here, column, COLUMNS, "column"):
            continue
        if isinstance(spec, dict):
            if len(spec) != 1:
                rf.problem(rf.doc.at(*here), f"a column condition has exactly one of {', '.join(OPS)}")
                continue
            op, value = next(iter(spec.items()))
            if not check_name(rf, here + (op,), op, OPS, "condition"):
                continue
            here = here + (op,)
        else:
            op, value = "in", spec
        values = string_list(rf, here, value, f"a {column} value")
        if isinstance(value, list) and not value:
            rf.problem(rf.doc.at(*here), f"an empty {op} list on {column}")
        out.append(ColumnCondition(str(column), op, tuple(dict.fromkeys(values))))
    return tuple(out)


def shadowing(rf: RuleFile, rules: list[TagRule]) -> None:
    """Add a located problem for every rule no row can reach (see the module docstring)."""
    reps = _representatives(rules)
    for j, rule in enumerate(rules):
        choices = []
        for col in COLUMNS:
            cond = rule.condition(col)
            choices.append([v for v in reps[col] if cond is None or cond.matches(v)])
        if any(not c for c in choices):
            rf.problem(rule.where, f"rule {rule.id} can never match: its conditions exclude every value of a column")
            continue
        size = 1
        for c in choices:
            size *= len(c)
        if size > MAX_COMBINATIONS:
            rf.problem(rule.where, f"rule {rule.id}: {size} value combinations are too many to check for shadowing")
            continue
        first: dict[str, TagRule] = {}
        for combo in itertools.product(*choices):
            point = dict(zip(COLUMNS, combo))
            earlier = next((r for r in rules[:j] if r.matches(point)), None)
            if earlier is None:
                break
            first.setdefault(earlier.id, earlier)
        else:
            by = ", ".join(f"{r.id} ({r.where})" for r in first.values())
            rf.problem(rule.where, f"rule {rule.id} is shadowed: every row it would tag is tagged first by {by}; "
                                   "move it above them or narrow them")


def _representatives(rules: list[TagRule]) -> dict[str, list[str]]:
    out = {}
    for col in COLUMNS:
        values: dict[str, None] = {}
        prefixes: dict[str, None] = {}
        for r in rules:
            c = r.condition(col)
            if c is not None:
                (prefixes if c.op == "prefix" else values).update(dict.fromkeys(c.values))
        out[col] = list(values) + [p + SENTINEL for p in prefixes] + [SENTINEL]
    return out


@dataclass(frozen=True)
class RuleSummary:
    """One rule's open items (``in_tv`` rows: count and amount) and its context rows."""

    rule_id: str
    accounting_rule: str
    debit: str
    credit: str
    count: int
    amount: Money
    context_count: int


@dataclass(frozen=True)
class TaggingResult:
    """Every IPE_31 row with rule_id, accounting_rule, debit_account, credit_account (NULL when
    untagged); the summary per rule in file order; the untagged rows."""

    company_id: str
    period: Any
    currency: str
    tagged: pa.Table
    summary: tuple[RuleSummary, ...]
    untagged: pa.Table
    untagged_amount: Money  # in_tv rows only, like the summary amounts
    rules_version: str
    rules_sha256: str
    sql: tuple[str, ...]

    @property
    def untagged_count(self) -> int:
        return self.untagged.num_rows

    def __rich__(self):
        from rich.table import Table

        t = Table(title=f"Collections tagging {self.company_id} {self.period} ({self.currency})")
        for name, justify in (("rule", "left"), ("accounting rule", "left"), ("debit", "left"), ("credit", "left"),
                              ("open items", "right"), ("amount", "right"), ("context", "right")):
            t.add_column(name, justify=justify)
        for s in self.summary:
            t.add_row(s.rule_id, s.accounting_rule, s.debit, s.credit, f"{s.count:,}", f"{s.amount.amount:,.2f}",
                      f"{s.context_count:,}")
        if self.untagged_count:
            t.add_row("(untagged)", "", "", "", f"{self.untagged_count:,} rows", f"{self.untagged_amount.amount:,.2f}", "",
                      style="red")
        return t


def tagging_query(ipe31: exp.Expression, rules: TagRules) -> exp.Select:
    rid = exp.case()
    for r in rules.rules:
        rid = rid.when(r.sql(), exp.Literal.string(r.id))
    tagged = exp.select("*", exp.alias_(rid.else_(exp.null()) if rules.rules else exp.null(), "rule_id")).from_(ipe31.copy())

    def attribute(name: str) -> exp.Expression:
        case = exp.case(exp.column("rule_id"))
        for r in rules.rules:
            case = case.when(exp.Literal.string(r.id), exp.Literal.string(getattr(r, name)))
        return case.else_(exp.null()) if rules.rules else exp.null()

    return (exp.select("*", exp.alias_(attribute("accounting_rule"), "accounting_rule"),
                       exp.alias_(attribute("debit"), "debit_account"), exp.alias_(attribute("credit"), "credit_account"))
            .from_(tagged.subquery("t")).order_by("transaction_id"))


def summary_query(tagged: exp.Select) -> exp.Select:
    in_tv = exp.column("in_tv")
    zero = exp.Literal.number(0)
    return (exp.select("rule_id",
                       exp.alias_(exp.Sum(this=exp.case().when(in_tv, exp.Literal.number(1)).else_(zero)), "open_items"),
                       exp.alias_(exp.Sum(this=exp.case().when(in_tv.copy(), exp.column("amount")).else_(zero.copy())), "amount"),
                       exp.alias_(exp.Sum(this=exp.case().when(exp.not_(in_tv.copy()), exp.Literal.number(1)).else_(zero.copy())),
                                  "context_items"))
            .from_(tagged.subquery("g")).group_by("rule_id"))


def tag_collections(engine: Engine, ipe31_table_expr: exp.Expression, params: EntityPeriod | Mapping[str, Any],
                    rules: TagRules | None = None) -> TaggingResult:
    """Tag the IPE_31 rows of one entity and period (``params``: company_id, currency, period)."""
    scope = EntityPeriod.of(params)
    rules = rules or load_collection_rules()
    query = tagging_query(ipe31_table_expr, rules)
    rows = engine.run(query, {})
    totals = engine.run(summary_query(query), {})
    by_rule = {g["rule_id"]: g for g in totals.table.to_pylist()}

    def money(value) -> Money:
        return Money(Decimal(value if value is not None else 0) + Decimal("0.00"), scope.currency)

    summary = []
    for r in rules.rules:
        g = by_rule.get(r.id, {})
        summary.append(RuleSummary(r.id, r.accounting_rule, r.debit, r.credit, int(g.get("open_items") or 0),
                                   money(g.get("amount")), int(g.get("context_items") or 0)))
    untagged = rows.table.filter(pc.is_null(rows.table.column("rule_id")))
    return TaggingResult(scope.company_id, scope.period, scope.currency, rows.table, tuple(summary), untagged,
                         money(by_rule.get(None, {}).get("amount")), rules.version, rules.sha256, (rows.sql, totals.sql))
