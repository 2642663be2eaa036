"""Ordered bridge rules → SQL, and the check that no key row is claimed twice.

A family's rules become one ``CASE`` (the first rule whose condition holds names the row's
bridge) and a count of the rules that hold. The rules are meant to be mutually exclusive, so
the order never decides anything; the count proves it: a row with two or more claims is a
configuration error naming the row and both rules. This is checked on the real key rows of
every run (``overlap_query``) and, when the pack loads, on the example rows shipped in
``fixtures/key_rows.yaml`` (``check_fixtures``) with sqlglot's Python executor, so a pack
with overlapping rules cannot even be loaded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Mapping

from sqlglot import exp
from sqlglot.executor import execute

from ..errors import Problem
from .lines import KEY_COLUMNS, BridgeRuleSpec, FamilySpec

ZERO, ONE = exp.Literal.number(0), exp.Literal.number(1)
NEUTRAL = {"id": "", "bool": False, "money": Decimal("0.00"), "int": 0}
OVERLAP_SAMPLE = 20


def claimable(rule: BridgeRuleSpec) -> exp.Expression:
    """A rule claims a row when its delta is not zero and its condition holds (NULL: no)."""
    nonzero = exp.NEQ(this=exp.column("delta"), expression=ZERO.copy())
    return exp.and_(nonzero, exp.paren(rule.condition.copy()))


def bridge_case(rules: tuple[BridgeRuleSpec, ...]) -> exp.Expression:
    case = exp.Case()
    for rule in rules:
        case = case.when(claimable(rule), exp.Literal.string(rule.id))
    return case.else_(exp.cast(exp.null(), "VARCHAR"))


def claim_count(rules: tuple[BridgeRuleSpec, ...]) -> exp.Expression:
    total: exp.Expression | None = None
    for rule in rules:
        one = exp.Case().when(claimable(rule), ONE.copy()).else_(ZERO.copy())
        total = one if total is None else exp.Add(this=total, expression=one)
    return total if total is not None else ZERO.copy()


def overlap_query(keys: exp.Table, rules: tuple[BridgeRuleSpec, ...], limit: int = OVERLAP_SAMPLE) -> exp.Select:
    """The first ``limit`` key rows claimed by two or more rules, with the rules that claim them."""
    flags = [exp.alias_(exp.Case().when(claimable(r), exp.Literal.string(r.id)), f"rule_{i}") for i, r in enumerate(rules)]
    return (
        exp.select(exp.column("item_key"), exp.column("delta"), *flags)
        .from_(keys)
        .where(exp.GT(this=exp.column("claims"), expression=ONE.copy()))
        .order_by(exp.column("item_key"))
        .limit(limit)
    )


def overlap_problems(rows: list[dict], total: int, line: str, family: FamilySpec) -> list[Problem]:
    """``file:line`` problems naming the rows of ``overlap_query`` and the rules that claim them."""
    out = []
    for row in rows:
        ids = [v for k, v in row.items() if k.startswith("rule_") and v]
        out.append(Problem(family.where, f"line {line}: key '{row['item_key']}' (delta {row['delta']}) is claimed by {' and '.join(ids)}"))
    if total > len(rows):
        out.append(Problem(family.where, f"line {line}: {total - len(rows)} more key row(s) are claimed twice"))
    return out


def check_fixtures(doc, families: Mapping[str, FamilySpec]) -> list[Problem]:
    """Evaluate every family's rules on its example key rows: no overlap, the expected claims."""
    problems: list[Problem] = []
    raw = doc.value.get("families") if isinstance(doc.value, dict) else None
    if not isinstance(raw, dict):
        return [Problem(doc.at(), "key_rows.yaml needs 'families': family id → list of example key rows")]
    for fam, rows in raw.items():
        if fam not in families:
            problems.append(Problem(doc.at("families", fam), f"unknown bridge family '{fam}'"))
            continue
        family = families[fam]
        table, expects = _fixture_rows(rows or [], family, lambda *p: doc.at("families", fam, *p), problems)
        if not table:
            continue
        claimed = _evaluate(family, table)
        for i, (claims, expect) in enumerate(zip(claimed, expects)):
            where = doc.at("families", fam, i)
            if len(claims) > 1:
                problems.append(Problem(where, f"{fam}: key '{table[i]['item_key']}' is claimed by {' and '.join(claims)}; "
                                               "bridge conditions must be mutually exclusive"))
            elif (claims[0] if claims else None) != expect:
                problems.append(Problem(where, f"{fam}: key '{table[i]['item_key']}' is claimed by {claims[0] if claims else 'no rule'}, "
                                               f"expected {expect or 'no rule'}"))
    return problems


def _evaluate(family: FamilySpec, table: list[dict]) -> list[list[str]]:
    flags = [exp.alias_(exp.Case().when(claimable(r), ONE.copy()).else_(ZERO.copy()), f"r{i}") for i, r in enumerate(family.rules)]
    result = execute(exp.select(*flags).from_("k"), tables={"k": table})
    return [[family.rules[i].id for i, v in enumerate(row) if v] for row in result.rows]


def _fixture_rows(rows: list, family: FamilySpec, at, problems: list[Problem]) -> tuple[list[dict], list[str | None]]:
    columns = set(KEY_COLUMNS) | family.columns
    values: list[dict] = []
    expects: list[str | None] = []
    ids = {r.id for r in family.rules}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "expect" not in row:
            problems.append(Problem(at(i), "an example key row is a mapping with 'expect' (a bridge id or null) and its columns"))
            continue
        expect = row["expect"]
        if expect is not None and expect not in ids:
            problems.append(Problem(at(i), f"expect names unknown bridge '{expect}' of {family.id}"))
        unknown = [k for k in row if k != "expect" and k not in columns]
        if unknown:
            problems.append(Problem(at(i), f"column(s) {unknown} are neither key-row columns nor used by {family.id}'s rules"))
        values.append({k: _value(k, v) for k, v in row.items() if k != "expect"})
        expects.append(expect)
    neutral = _neutral(columns, values)
    table = []
    for row in values:
        full = {c: row.get(c, neutral.get(c)) for c in sorted(columns)}
        full["delta"] = full["g"] - full["t"]
        table.append(full)
    missing = sorted(c for c in columns if neutral.get(c) is None)
    if missing:
        problems.append(Problem(at(), f"no example row of {family.id} gives column(s) {missing}; give them in at least one row"))
        return [], []
    return table, expects


def _neutral(columns, rows: list[dict]) -> dict:
    """A column's value when a row omits it: false, 0 or '' according to its type."""
    out = {c: NEUTRAL[t] for c, t in KEY_COLUMNS.items()}
    for c in columns - set(KEY_COLUMNS):
        seen = next((r[c] for r in rows if c in r), None)
        if isinstance(seen, bool):
            out[c] = False
        elif isinstance(seen, (int, Decimal)):
            out[c] = Decimal("0.00")
        elif isinstance(seen, str):
            out[c] = ""
    return out


def _value(column: str, value):
    if column in ("g", "t") or (isinstance(value, str) and column not in KEY_COLUMNS and _decimal(value) is not None):
        return _decimal(str(value)) if value is not None else Decimal("0.00")
    return value


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
