"""The SQL of a line: balance-level figures and the key-level full outer join.

Every query is a sqlglot expression over extracts registered in the engine; run values (the
line's accounts, cutoff, period start, the materiality amount) stay bound parameters:
``:gl_accounts``, ``:cutoff``, ``:period_start``, ``:material_lcy``.

A line with ``gl_classification`` reads its CR_03 rows joined (on ``entry_no``, CR_03's key)
with the classified postings, so its attributes may test each posting's ``category`` and
``voucher_type`` as the voucher classification rules decided them.

Key rows (one per key, the join of the GL and TV per-key sums) have the columns documented in
``bridges.yaml``, plus ``bridge`` (the rule that claims the row, or NULL), ``claims`` (how many
rules would claim it: more than one is an overlap) and ``material`` (|delta| at or above the
line-item threshold in LCY; NULL without an FX rate).
"""

from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from .bridges import bridge_case, claim_count
from .lines import CLASSIFIED_COLUMNS, AttributeSpec, FamilySpec, LineSpec

ZERO, ONE = exp.Literal.number(0), exp.Literal.number(1)
MONEY = exp.DataType.build("DECIMAL(38, 2)")
MANUAL = "manual"
GL, TV, ROWS = "gl_keys", "tv_keys", "key_rows"


def param(name: str) -> exp.Placeholder:
    return exp.Placeholder(this=name)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table)


def _sum_if(condition: exp.Expression, value: exp.Expression) -> exp.Expression:
    return exp.Sum(this=exp.Case().when(condition, value).else_(ZERO.copy()))


def _coalesce(value: exp.Expression, default: exp.Expression) -> exp.Expression:
    return exp.func("COALESCE", value, default)


def literal(value) -> exp.Expression:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, Decimal)):
        return exp.Literal.number(str(value))
    return exp.Literal.string(str(value))


def on_accounts() -> exp.Expression:
    return col("gl_account_no").isin(param("gl_accounts"))


def gl_filter() -> exp.Expression:
    return exp.and_(on_accounts(), exp.LTE(this=col("posting_date"), expression=param("cutoff")))


def presented(amount: exp.Expression, line: LineSpec) -> exp.Expression:
    """A GL amount as the line shows it: negated for a liability (credit balance shown positive)."""
    return exp.Neg(this=exp.paren(amount)) if line.liability else amount


def _scalar(query: exp.Select, name: str) -> exp.Expression:
    return exp.alias_(exp.Subquery(this=query), name)


def balance_query(line: LineSpec, cr03: exp.Table, cr04: exp.Table, tv: exp.Table) -> exp.Select:
    """One row: gl_amount (CR_04), tv_amount (Σ measure over in_tv), and activity counts."""
    cr04_rows = exp.and_(on_accounts(), exp.EQ(this=col("closing_date"), expression=param("cutoff")))
    gl_amount = presented(_coalesce(exp.Sum(this=col("balance_lcy")), ZERO.copy()), line)
    in_period = exp.and_(on_accounts(), exp.Between(this=col("posting_date"), low=param("period_start"), high=param("cutoff")))
    measure = col(line.tv.measure)
    return exp.select(
        _scalar(exp.select(gl_amount).from_(cr04.copy()).where(cr04_rows), "gl_amount"),
        _scalar(exp.select(exp.Count(this=exp.Distinct(expressions=[col("gl_account_no")]))).from_(cr04.copy()).where(cr04_rows.copy()), "gl_balance_accounts"),
        _scalar(exp.select(_coalesce(_sum_if(col("in_tv"), measure), ZERO.copy())).from_(tv.copy()), "tv_amount"),
        _scalar(exp.select(exp.Count(this=exp.Star())).from_(tv.copy()), "tv_rows"),
        _scalar(exp.select(exp.Count(this=exp.Star())).from_(cr03.copy()).where(in_period), "gl_entries_in_period"),
    )


def tie_out_query(line: LineSpec, cr03: exp.Table, cr04: exp.Table) -> exp.Select:
    """Per account of the line: CR_04 balance against Σ CR_03 entries <= C (raw NAV signs)."""
    bal = (exp.select(col("gl_account_no"), exp.alias_(exp.Sum(this=col("balance_lcy")), "balance"))
           .from_(cr04.copy()).where(exp.and_(on_accounts(), exp.EQ(this=col("closing_date"), expression=param("cutoff"))))
           .group_by(col("gl_account_no")))
    ent = (exp.select(col("gl_account_no"), exp.alias_(exp.Sum(this=col("amount")), "entries"))
           .from_(cr03.copy()).where(gl_filter()).group_by(col("gl_account_no")))
    account = _coalesce(col("gl_account_no", "b"), col("gl_account_no", "e"))
    return (
        exp.select(exp.alias_(account, "gl_account_no"),
                   exp.alias_(_coalesce(col("balance", "b"), ZERO.copy()), "balance"),
                   exp.alias_(_coalesce(col("entries", "e"), ZERO.copy()), "entries"))
        .from_(bal.subquery("b"))
        .join(ent.subquery("e"), on=exp.EQ(this=col("gl_account_no", "b"), expression=col("gl_account_no", "e")), join_type="FULL OUTER")
        .order_by(account.copy())
    )


def _attribute(a: AttributeSpec) -> exp.Expression:
    return exp.alias_(a.expression.copy(), a.name)


def gl_rows(line: LineSpec, cr03: exp.Table, classified: exp.Table | None) -> exp.Expression:
    """The CR_03 rows the GL side reads: as extracted, or with the classification's columns."""
    if not line.gl_classification:
        return cr03.copy()
    if classified is None:
        raise ValueError(f"line {line.id} reads {line.gl_classification}: the classified postings are needed")
    e, c = "gl_entry", "gl_class"
    return (exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(e)),
                       *(col(name, c) for name in CLASSIFIED_COLUMNS))
            .from_(exp.alias_(cr03.copy(), e, table=True))
            .join(exp.alias_(classified.copy(), c, table=True),
                  on=exp.EQ(this=col("entry_no", e), expression=col("entry_no", c)), join_type="LEFT")
            .subquery("gl_rows"))


def gl_side(line: LineSpec, cr03: exp.Table, classified: exp.Table | None = None) -> exp.Select:
    key = line.gl_key.copy()
    return (
        exp.select(exp.alias_(key, "item_key"),
                   exp.alias_(presented(exp.Sum(this=col("amount")), line), "g"),
                   exp.alias_(exp.Count(this=exp.Star()), "gl_entries"),
                   *(_attribute(a) for a in line.gl_attributes))
        .from_(gl_rows(line, cr03, classified)).where(gl_filter()).group_by(line.gl_key.copy())
    )


def tv_side(line: LineSpec, tv: exp.Table) -> exp.Select:
    key = col(line.tv.key)
    return (
        exp.select(exp.alias_(key, "item_key"),
                   exp.alias_(_sum_if(col("in_tv"), col(line.tv.measure)), "t"),
                   exp.alias_(exp.Count(this=exp.Star()), "tv_rows"),
                   exp.alias_(_sum_if(col("in_tv"), ONE.copy()), "in_tv_rows"),
                   *(_attribute(a) for a in line.tv.attributes))
        .from_(tv.copy()).group_by(key.copy())
    )


def joined(line: LineSpec) -> exp.Select:
    """Full outer join of the per-key sums; the keyless GL group becomes the key 'manual'."""
    g, t = col("g", GL), col("t", TV)
    manual = exp.and_(col("item_key", GL).is_(exp.null()), exp.not_(col("gl_entries", GL).is_(exp.null())))
    key = exp.Case().when(manual.copy(), exp.Literal.string(MANUAL)).else_(_coalesce(col("item_key", GL), col("item_key", TV)))
    g0, t0 = _coalesce(g, ZERO.copy()), _coalesce(t, ZERO.copy())
    side = {a.name: GL for a in line.gl_attributes} | {a.name: TV for a in line.tv.attributes}
    return (
        exp.select(
            exp.alias_(key, "item_key"), exp.alias_(manual, "is_manual"),
            exp.alias_(exp.cast(g0, MONEY), "g"), exp.alias_(exp.cast(t0, MONEY), "t"),
            exp.alias_(exp.cast(exp.Sub(this=g0.copy(), expression=t0.copy()), MONEY), "delta"),
            exp.alias_(_coalesce(col("gl_entries", GL), ZERO.copy()), "gl_entries"),
            exp.alias_(_coalesce(col("tv_rows", TV), ZERO.copy()), "tv_rows"),
            exp.alias_(_coalesce(col("in_tv_rows", TV), ZERO.copy()), "in_tv_rows"),
            *(exp.alias_(_coalesce(col(a.name, side[a.name]), literal(a.default)), a.name) for a in line.attributes),
        )
        .from_(exp.to_table(GL))
        .join(exp.to_table(TV), on=exp.EQ(this=col("item_key", GL), expression=col("item_key", TV)), join_type="FULL OUTER")
    )


def key_query(line: LineSpec, family: FamilySpec, cr03: exp.Table, tv: exp.Table,
              classified: exp.Table | None = None) -> exp.Select:
    """Every key row of the line with its bridge, claim count and materiality, ordered by key.
    ``classified`` (entry_no, category, voucher_type) is needed when the line has gl_classification."""
    material = exp.GTE(this=exp.Abs(this=col("delta")), expression=exp.cast(param("material_lcy"), MONEY))
    return (
        exp.select(exp.Star(), exp.alias_(bridge_case(family.rules), "bridge"),
                   exp.alias_(claim_count(family.rules), "claims"), exp.alias_(material, "material"))
        .from_(ROWS)
        .with_(GL, as_=gl_side(line, cr03, classified))
        .with_(TV, as_=tv_side(line, tv))
        .with_(ROWS, as_=joined(line))
        .order_by(col("item_key"))
    )


def totals_query(keys: exp.Table) -> exp.Select:
    """Per bridge (NULL = unclaimed): keys, Σ g, Σ t, Σ delta, material items, overlaps."""
    nonzero = exp.NEQ(this=col("delta"), expression=ZERO.copy())
    return (
        exp.select(col("bridge"),
                   exp.alias_(exp.Count(this=exp.Star()), "keys"),
                   exp.alias_(_sum_if(nonzero, ONE.copy()), "nonzero_keys"),
                   exp.alias_(exp.Sum(this=col("g")), "g"),
                   exp.alias_(exp.Sum(this=col("t")), "t"),
                   exp.alias_(exp.Sum(this=col("delta")), "delta"),
                   exp.alias_(_sum_if(col("material"), ONE.copy()), "material_items"),
                   exp.alias_(_sum_if(exp.GT(this=col("claims"), expression=ONE.copy()), ONE.copy()), "overlaps"))
        .from_(keys.copy())
        .group_by(col("bridge"))
        .order_by(col("bridge"))
    )


def clearing_query(line: LineSpec, cr06: exp.Table, keys: exp.Table) -> exp.Select:
    """The CR_06 entries (after the cutoff, on the line's accounts) of every key a timing or
    booking bridge claims (``:clearing_bridges``), each with its amount presented like g. The
    window of each item is applied to these rows by ``recon.items``, which knows its age."""
    claimed = (exp.select(col("item_key")).from_(keys.copy())
               .where(exp.and_(col("bridge").isin(param("clearing_bridges")),
                               exp.NEQ(this=col("delta"), expression=ZERO.copy()), exp.not_(col("is_manual")))))
    key = line.gl_key.copy()
    return (
        exp.select(exp.alias_(key, "item_key"), col("entry_no"), col("document_no"), col("posting_date"),
                   exp.alias_(exp.cast(presented(col("amount"), line), MONEY), "amount"))
        .from_(cr06.copy())
        .where(exp.and_(on_accounts(), exp.GT(this=col("posting_date"), expression=param("cutoff")),
                        exp.In(this=line.gl_key.copy(), query=claimed.subquery())))
        .order_by(col("item_key"), col("posting_date"), col("entry_no"))
    )
