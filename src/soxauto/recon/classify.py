"""NAV voucher postings classified by category x voucher type, and the period's movement table.

The rules are data (``packs/cpg1/recon/voucher_classification.yaml``, an ordered, versioned
file): the first category rule whose conditions all hold gives a posting its category, and
its voucher type when the rule names one. Otherwise the first type rule that matches gives the
type, and failing that the posting inherits the type of its voucher's Issuance posting (a
cancellation says nothing about the voucher it cancels; its issuance does). Everything is one
SQL statement: a CASE in rule order, evaluated in the engine over the CR_03 extract.

A posting no rule claims is category ``Unclassified`` (never dropped); one without any type is
``Unspecified``. The movement table rolls the account forward: opening (entries before the
period) + Σ movements of the period = closing (entries by cutoff), exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import pyarrow as pa
from sqlglot import exp

from ..engines.base import Engine
from ..errors import UsageError, did_you_mean
from ..money import Money
from ..period import Period
from .rulefile import RuleFile, check_name, contains_any, in_set, like_any, load_rule_file, param, rule_list, string_list

UNCLASSIFIED = "Unclassified"
UNSPECIFIED = "Unspecified"
INTEGRATION_TYPES = ("Integration", "Manual")
BAL_ACCOUNT_TYPES = ("G/L Account", "Bank Account", "Customer", "Vendor")
DOCUMENT_TYPES = ("Invoice", "Credit Memo", "Payment", "Refund")
CONDITIONS = ("integration_type", "sign", "description_contains", "description_like", "bal_account_type",
              "document_type", "voucher_no", "document_no_country_prefix")


def default_rules_path() -> Path:
    from ..catalog.loader import default_pack

    return default_pack() / "recon" / "voucher_classification.yaml"


@dataclass(frozen=True)
class Condition:
    """All given parts must hold (AND); a list inside one part means any of its values (OR)."""

    integration_type: tuple[str, ...] = ()
    sign: str | None = None  # debit (amount > 0) | credit (amount < 0)
    description_contains: tuple[str, ...] = ()  # case-insensitive substrings
    description_like: tuple[str, ...] = ()  # case-insensitive LIKE patterns, escape character '\'
    bal_account_type: tuple[str, ...] = ()
    document_type: tuple[str, ...] = ()
    voucher_no: str | None = None  # present | absent
    document_no_country_prefix: bool | None = None
    category: tuple[str, ...] = ()  # type rules only

    def sql(self) -> exp.Expression:
        parts: list[exp.Expression] = []
        if self.integration_type:
            parts.append(in_set("integration_type", self.integration_type))
        if self.sign:
            op = exp.GT if self.sign == "debit" else exp.LT
            parts.append(op(this=exp.column("amount"), expression=exp.Literal.number(0)))
        if self.description_contains:
            parts.append(contains_any("description", self.description_contains))
        if self.description_like:
            parts.append(like_any("description", self.description_like))
        if self.bal_account_type:
            parts.append(in_set("bal_account_type", self.bal_account_type))
        if self.document_type:
            parts.append(in_set("document_type", self.document_type))
        if self.voucher_no:
            null = exp.column("voucher_no").is_(exp.null())
            parts.append(null if self.voucher_no == "absent" else exp.not_(null))
        if self.document_no_country_prefix is not None:
            prefix = exp.EQ(this=exp.Upper(this=exp.Substring(this=exp.column("document_no"), start=exp.Literal.number(1),
                                                              length=exp.Literal.number(2))), expression=param("country_code"))
            parts.append(prefix if self.document_no_country_prefix else exp.not_(prefix))
        if self.category:
            parts.append(in_set("category", self.category))
        return exp.and_(*parts) if parts else exp.true()


@dataclass(frozen=True)
class CategoryRule:
    id: str
    category: str
    voucher_type: str | None
    when: Condition
    where: str  # file:line


@dataclass(frozen=True)
class TypeRule:
    id: str
    voucher_type: str
    when: Condition
    where: str


@dataclass(frozen=True)
class VoucherRules:
    path: str
    version: str
    sha256: str
    gl_accounts: tuple[str, ...]
    liability: bool
    categories: tuple[str, ...]
    voucher_types: tuple[str, ...]
    rules: tuple[CategoryRule, ...]
    types: tuple[TypeRule, ...]


def load_voucher_rules(path: str | Path | None = None) -> VoucherRules:
    rf = load_rule_file(path or default_rules_path(),
                        header=("gl_accounts", "account_class", "categories", "voucher_types", "types"),
                        required=("category", "when"), optional=("voucher_type",))
    for key in ("gl_accounts", "account_class", "categories", "voucher_types"):
        if key not in rf.header:
            rf.problem(rf.doc.at(), f"missing required key '{key}'")
    categories = string_list(rf, ("categories",), rf.header.get("categories", []), "a category")
    types = string_list(rf, ("voucher_types",), rf.header.get("voucher_types", []), "a voucher type")
    for name in (UNCLASSIFIED, UNSPECIFIED):
        if name in categories + types:
            rf.problem(rf.doc.at("categories"), f"'{name}' is reserved for postings no rule claims")
    account_class = rf.header.get("account_class")
    if account_class is not None:
        check_name(rf, ("account_class",), account_class, ("asset", "liability"), "account class")
    rules = []
    for raw in rf.rules:
        where = ("rules", raw.index)
        check_name(rf, where + ("category",), raw.body.get("category"), categories, "category")
        vtype = raw.body.get("voucher_type")
        if vtype is not None:
            check_name(rf, where + ("voucher_type",), vtype, types, "voucher type")
        when = _condition(rf, where + ("when",), raw.body.get("when"), categories, type_rule=False)
        rules.append(CategoryRule(raw.id, str(raw.body.get("category")), vtype, when, raw.where))
    type_rules = []
    for raw in rule_list(rf, "types", ("voucher_type", "when")):
        where = ("types", raw.index)
        check_name(rf, where + ("voucher_type",), raw.body.get("voucher_type"), types, "voucher type")
        when = _condition(rf, where + ("when",), raw.body.get("when"), categories, type_rule=True)
        type_rules.append(TypeRule(raw.id, str(raw.body.get("voucher_type")), when, raw.where))
    accounts = string_list(rf, ("gl_accounts",), rf.header.get("gl_accounts", []), "a GL account")
    rf.raise_if_problems()
    return VoucherRules(str(rf.path), rf.version, rf.sha256, accounts, account_class == "liability", categories, types,
                        tuple(rules), tuple(type_rules))


def _condition(rf: RuleFile, where: tuple, when: Any, categories: tuple[str, ...], *, type_rule: bool) -> Condition:
    known = CONDITIONS + (("category",) if type_rule else ())
    if not isinstance(when, dict) or not when:
        rf.problem(rf.doc.at(*where), f"'when' must be a mapping of conditions: {', '.join(known)}")
        return Condition()
    args: dict[str, Any] = {}
    for key, value in when.items():
        here = where + (key,)
        if key not in known:
            rf.problem(rf.doc.at(*here), f"unknown condition '{key}'{did_you_mean(str(key), known)}")
            continue
        if key == "sign":
            if check_name(rf, here, value, ("debit", "credit"), "sign"):
                args[key] = value
        elif key == "voucher_no":
            if check_name(rf, here, value, ("present", "absent"), "voucher_no condition"):
                args[key] = value
        elif key == "document_no_country_prefix":
            if not isinstance(value, bool):
                rf.problem(rf.doc.at(*here), f"document_no_country_prefix must be true or false, got {value!r}")
            else:
                args[key] = value
        else:
            values = string_list(rf, here, value, key)
            choices = {"integration_type": INTEGRATION_TYPES, "bal_account_type": BAL_ACCOUNT_TYPES,
                       "document_type": DOCUMENT_TYPES, "category": categories}.get(key)
            for k, v in enumerate(values):
                if choices is not None:
                    check_name(rf, here + ((k,) if isinstance(value, list) else ()), v, choices, key.replace("_", " "))
            args[key] = values
    return Condition(**args)


@dataclass(frozen=True)
class EntityPeriod:
    """Who and when a classification, tagging or review list is for. ``country_code`` is the
    ISO-2 code of the company (store credit document numbers start with it)."""

    company_id: str
    currency: str
    period: Period
    country_code: str = ""

    @classmethod
    def of(cls, params: "EntityPeriod | Mapping[str, Any]") -> "EntityPeriod":
        if isinstance(params, EntityPeriod):
            return params
        needed = ("company_id", "currency", "period")
        for key in needed:
            if key not in params:
                raise UsageError(f"parameter '{key}' is missing{did_you_mean(key, params)}; needed: {', '.join(needed)}")
        period = params["period"]
        period = period if isinstance(period, Period) else Period.parse(str(period))
        return cls(str(params["company_id"]), str(params["currency"]), period, str(params.get("country_code") or ""))

    def parameters(self) -> dict[str, Any]:
        return {**self.period.parameters(), "company_id": self.company_id, "country_code": self.country_code.upper()}


def company_context(engine: Engine, company_id: str) -> dict[str, str]:
    """``country_code`` and ``currency`` of a company from ref.companies (for EntityPeriod)."""
    q = (exp.select("country_code", "currency").from_(exp.to_table("ref.companies"))
         .where(exp.EQ(this=exp.column("company_id"), expression=param("company_id"))))
    rows = engine.run(q, {"company_id": company_id}).table.to_pylist()
    if not rows:
        raise UsageError(f"company '{company_id}' is not in ref.companies")
    return {"country_code": rows[0]["country_code"], "currency": rows[0]["currency"]}


def classification_query(cr03: exp.Expression, rules: VoucherRules) -> exp.Select:
    """Every CR_03 row of the rule file's accounts for :company_id by :cutoff, with its
    category, voucher type, the ids of the rules that decided them, and ``in_period``."""
    cat, cat_rule, fixed = exp.case(), exp.case(), exp.case()
    for r in rules.rules:
        cat = cat.when(r.when.sql(), exp.Literal.string(r.category))
        cat_rule = cat_rule.when(r.when.sql(), exp.Literal.string(r.id))
        fixed = fixed.when(r.when.sql(), exp.Literal.string(r.voucher_type) if r.voucher_type else exp.null())
    cols = ["entry_no", "posting_date", "document_no", "document_type", "voucher_no", "description", "amount",
            "integration_type", "bal_account_type"]
    base = (exp.select(*cols, exp.alias_(cat.else_(exp.Literal.string(UNCLASSIFIED)), "category"),
                       exp.alias_(cat_rule.else_(exp.null()), "category_rule"), exp.alias_(fixed.else_(exp.null()), "fixed_type"))
            .from_(cr03.copy())
            .where(exp.and_(in_set("gl_account_no", rules.gl_accounts),
                            exp.EQ(this=exp.column("company_id"), expression=param("company_id")),
                            exp.LTE(this=exp.column("posting_date"), expression=param("cutoff")))))
    own, own_rule = exp.case(), exp.case()
    for t in rules.types:
        own = own.when(t.when.sql(), exp.Literal.string(t.voucher_type))
        own_rule = own_rule.when(t.when.sql(), exp.Literal.string(t.id))
    typed = exp.select(*cols, "category", "category_rule", "fixed_type",
                       exp.alias_(own.else_(exp.null()) if rules.types else exp.null(), "own_type"),
                       exp.alias_(own_rule.else_(exp.null()) if rules.types else exp.null(), "type_rule")).from_("base")
    issuance_type = exp.Window(
        this=exp.Max(this=exp.case().when(exp.EQ(this=exp.column("category"), expression=exp.Literal.string("Issuance")),
                                          exp.column("own_type")).else_(exp.null())),
        partition_by=[exp.column("voucher_no")])
    has_voucher = exp.not_(exp.column("voucher_no").is_(exp.null()))
    inherit = exp.select(*cols, "category", "category_rule", "fixed_type", "own_type", "type_rule",
                         exp.alias_(exp.case().when(has_voucher, issuance_type).else_(exp.null()), "issuance_type")).from_("typed")
    present = lambda c: exp.not_(exp.column(c).is_(exp.null()))  # noqa: E731
    vtype = exp.func("COALESCE", exp.column("fixed_type"), exp.column("own_type"), exp.column("issuance_type"),
                     exp.Literal.string(UNSPECIFIED))
    type_from = (exp.case().when(present("fixed_type"), exp.Literal.string("category rule"))
                 .when(present("own_type"), exp.Literal.string("type rule"))
                 .when(present("issuance_type"), exp.Literal.string("issuance")).else_(exp.Literal.string("none")))
    type_rule = exp.case().when(exp.column("fixed_type").is_(exp.null()), exp.column("type_rule")).else_(exp.null())
    in_period = exp.case().when(exp.GTE(this=exp.column("posting_date"), expression=param("period_start")), exp.true()).else_(exp.false())
    return (exp.select(*cols, "category", exp.alias_(vtype, "voucher_type"), "category_rule",
                       exp.alias_(type_rule, "type_rule"), exp.alias_(type_from, "type_from"), exp.alias_(in_period, "in_period"))
            .from_("inherit").with_("base", as_=base).with_("typed", as_=typed).with_("inherit", as_=inherit)
            .order_by("entry_no"))


def movement_query(classified: exp.Table) -> exp.Select:
    """Count and amount per (in_period, category, voucher_type) over the classified postings
    (a registered table: the classification is run once, not again as a subquery)."""
    return (exp.select("in_period", "category", "voucher_type", exp.alias_(exp.Count(this=exp.Star()), "postings"),
                       exp.alias_(exp.Sum(this=exp.column("amount")), "amount"))
            .from_(classified.copy()).group_by("in_period", "category", "voucher_type"))


@dataclass(frozen=True)
class MovementRow:
    category: str
    voucher_type: str
    postings: int
    amount: Money  # presented like gl_amount: negated for a liability (issuance adds, usage takes away)


@dataclass(frozen=True)
class MovementTable:
    """The account rolled forward over the period: opening + Σ rows = closing, exactly."""

    company_id: str
    period: Period
    currency: str
    liability: bool
    opening: Money  # entries before the period start
    rows: tuple[MovementRow, ...]
    closing: Money  # entries by cutoff

    def amount(self, category: str, voucher_type: str | None = None) -> Money:
        total = Money.zero(self.currency)
        for r in self.rows:
            if r.category == category and voucher_type in (None, r.voucher_type):
                total = total + r.amount
        return total

    def to_dict(self) -> dict:
        return {"entity": self.company_id, "period": str(self.period), "currency": self.currency,
                "opening": str(self.opening.amount), "closing": str(self.closing.amount),
                "rows": [{"category": r.category, "voucher_type": r.voucher_type, "postings": r.postings,
                          "amount": str(r.amount.amount)} for r in self.rows]}

    def __rich__(self):
        from rich.table import Table

        t = Table(title=f"Voucher movements {self.company_id} {self.period} ({self.currency})")
        t.add_column("category")
        t.add_column("voucher type")
        t.add_column("postings", justify="right")
        t.add_column("amount", justify="right")
        t.add_row("Opening", "", "", f"{self.opening.amount:,.2f}", style="bold")
        for r in self.rows:
            t.add_row(r.category, r.voucher_type, f"{r.postings:,}", f"{r.amount.amount:,.2f}",
                      style="red" if r.category == UNCLASSIFIED else None)
        t.add_row("Closing", "", f"{sum(r.postings for r in self.rows):,}", f"{self.closing.amount:,.2f}", style="bold")
        return t


@dataclass(frozen=True)
class MovementResult:
    """The movement table of one entity and period, every posting with its classification
    (Arrow: entry_no, ..., category, voucher_type, category_rule, type_rule, type_from
    ('category rule' | 'type rule' | 'issuance' | 'none'), in_period), and
    the SQL that ran. ``rules_version``/``rules_sha256`` name the rule file exactly."""

    movement: MovementTable
    postings: pa.Table
    rules_version: str
    rules_sha256: str
    sql: tuple[str, ...]

    @property
    def unclassified(self) -> pa.Table:
        import pyarrow.compute as pc

        return self.postings.filter(pc.equal(self.postings.column("category"), UNCLASSIFIED))

    def __rich__(self):
        return self.movement.__rich__()


CLASSIFIED = "classified_voucher_postings"


def classify_vouchers(engine: Engine, cr03_table_expr: exp.Expression, params: "EntityPeriod | Mapping[str, Any]",
                      rules: VoucherRules | None = None) -> MovementResult:
    """Classify the voucher postings of one entity and period from a registered CR_03 extract.
    ``params``: company_id, currency, period, country_code (see :class:`EntityPeriod`)."""
    scope = EntityPeriod.of(params)
    rules = rules or load_voucher_rules()
    if not scope.country_code and any(_uses_country(r.when) for r in rules.rules + rules.types):
        raise UsageError("parameter 'country_code' is needed by the voucher rules "
                         "(document_no_country_prefix); company_context() reads it from ref.companies")
    query = classification_query(cr03_table_expr, rules)
    rows = engine.run(query, scope.parameters())
    classified = engine.register(CLASSIFIED, rows.table)
    try:
        totals = engine.run(movement_query(classified), {})
    finally:
        engine.unregister(CLASSIFIED)
    movement = _movement(scope, rules, totals.table.to_pylist())
    return MovementResult(movement, rows.table, rules.version, rules.sha256, (rows.sql, totals.sql))


def _uses_country(c: Condition) -> bool:
    return c.document_no_country_prefix is not None


def _movement(scope: EntityPeriod, rules: VoucherRules, groups: list[dict]) -> MovementTable:
    sign = Decimal(-1) if rules.liability else Decimal(1)
    zero = Money.zero(scope.currency)
    opening, rows = zero, []
    for g in groups:
        amount = Money(Decimal(g["amount"]) * sign + Decimal("0.00"), scope.currency)
        if g["in_period"]:
            rows.append(MovementRow(g["category"], g["voucher_type"], int(g["postings"]), amount))
        else:
            opening = opening + amount
    cat_order = {c: i for i, c in enumerate(rules.categories + (UNCLASSIFIED,))}
    type_order = {t: i for i, t in enumerate(rules.voucher_types + (UNSPECIFIED,))}
    rows.sort(key=lambda r: (cat_order.get(r.category, len(cat_order)), type_order.get(r.voucher_type, len(type_order)),
                             r.category, r.voucher_type))
    closing = opening
    for r in rows:
        closing = closing + r.amount
    return MovementTable(scope.company_id, scope.period, scope.currency, rules.liability, opening, tuple(rows), closing)
