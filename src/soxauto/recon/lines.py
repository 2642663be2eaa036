"""Reconciliation lines and bridge families as data: their specs and how each file is read.

``recon.pack.load_pack`` puts a pack together from these readers, the bridge rules' fixture
check (``recon.bridges``) and the threshold contracts; this module imports neither, so the
specs sit below everything that uses them.

``packs/<pack>/recon/lines.yaml`` declares the lines, ``bridges.yaml`` the ordered bridge rules
of each family, ``thresholds/*.yaml`` the threshold contracts and ``fixtures/key_rows.yaml``
example key rows that every family must claim without overlap. Every mistake is reported as
``file:line: message`` (with a did-you-mean suggestion), all of a pack's mistakes at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from ..catalog.loader import _Located
from ..catalog.model import Catalog
from ..errors import CatalogError, Problem, did_you_mean

DIALECT = "trino"
CLASSES = ("asset", "liability")
# The columns of every joined key row; a line adds its own attributes (see bridges.yaml).
KEY_COLUMNS: Mapping[str, str] = MappingProxyType({
    "item_key": "id", "is_manual": "bool", "g": "money", "t": "money", "delta": "money",
    "gl_entries": "int", "tv_rows": "int", "in_tv_rows": "int",
})
LINE_KEYS = ("id", "title", "gl_accounts", "class", "gl_key", "gl_classification", "gl_attributes", "tv", "bridges",
             "control_report", "clearing_window_days")
OPTIONAL_LINE_KEYS = ("gl_classification", "gl_attributes", "control_report", "clearing_window_days")
# The pack's voucher posting classification (docs/classification.md); a line that names it in
# gl_classification sees these columns on its CR_03 rows, set per posting by the rule file.
VOUCHER_CLASSIFICATION = "voucher_classification.yaml"
COLLECTIONS_RULES = "collections_rules.yaml"
CLASSIFIED_COLUMNS = ("category", "voucher_type")
TV_KEYS = ("item", "measure", "key", "attributes")
RULE_KEYS = ("id", "version", "description", "when", "nature", "journal")
REQUIRED_RULE_KEYS = ("id", "version", "description", "when", "nature")
# What support turns a bridge's items into explained ones (domain spec "Reconciling items").
NATURES = ("timing", "booking", "exception")
JOURNAL_KEYS = ("debit", "credit", "description")
DEFAULT_CLEARING_WINDOW_DAYS = 45
DEFAULT_MAX_AGE_DAYS = 90


@dataclass(frozen=True)
class AttributeSpec:
    """An extra per-key aggregate; ``default`` is its value for a key with no rows on its side."""

    name: str
    sql: str
    expression: exp.Expression
    default: bool | int | Decimal | str
    where: str


@dataclass(frozen=True)
class TargetSpec:
    item: str
    measure: str
    key: str
    attributes: tuple[AttributeSpec, ...] = ()


@dataclass(frozen=True)
class LineSpec:
    id: str
    title: str
    gl_accounts: tuple[str, ...]
    account_class: str
    gl_key_sql: str
    gl_key: exp.Expression
    tv: TargetSpec
    family: str
    gl_attributes: tuple[AttributeSpec, ...] = ()
    control_report: str | None = None
    where: str = ""
    gl_classification: str | None = None  # rule file whose category/voucher_type the CR_03 rows carry
    clearing_window_days: int = DEFAULT_CLEARING_WINDOW_DAYS  # W: how long a timing item may take to clear

    @property
    def liability(self) -> bool:
        return self.account_class == "liability"

    @property
    def attributes(self) -> tuple[AttributeSpec, ...]:
        return self.gl_attributes + self.tv.attributes

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(KEY_COLUMNS) + tuple(a.name for a in self.attributes)


@dataclass(frozen=True)
class Journal:
    """The entry a booking bridge proposes: debit and credit accounts when the net of its open
    parts, presented, is positive (reversed when negative)."""

    debit: str
    credit: str
    description: str

    def to_dict(self) -> dict:
        return {"debit": self.debit, "credit": self.credit, "description": self.description}


@dataclass(frozen=True)
class BridgeRuleSpec:
    id: str
    version: str
    description: str
    when: str
    condition: exp.Expression
    where: str = ""
    nature: str = "exception"
    journal: Journal | None = None


@dataclass(frozen=True)
class FamilySpec:
    id: str
    rules: tuple[BridgeRuleSpec, ...]
    where: str = ""

    @property
    def columns(self) -> set[str]:
        return {c.name for r in self.rules for c in r.condition.find_all(exp.Column)}


@dataclass(frozen=True)
class ReconPack:
    lines: tuple[LineSpec, ...]
    families: Mapping[str, FamilySpec]
    thresholds: Any  # thresholds.ThresholdBook
    version: str
    folder: Path
    vouchers: Any = None  # classify.VoucherRules of voucher_classification.yaml, if the pack has one
    collections: Any = None  # tagging.TagRules of collections_rules.yaml, if the pack has one
    max_age_days: int = DEFAULT_MAX_AGE_DAYS  # an item older than this (not cleared) is a STALE_ITEM

    @property
    def max_clearing_window_days(self) -> int:
        return max((s.clearing_window_days for s in self.lines), default=DEFAULT_CLEARING_WINDOW_DAYS)

    def window_end(self, period) -> date:
        """C + the largest clearing window of the lines: how far after the cutoff CR_06 reads."""
        return period.cutoff + timedelta(days=self.max_clearing_window_days)

    def line(self, line_id: str) -> LineSpec:
        for spec in self.lines:
            if spec.id == line_id:
                return spec
        raise CatalogError(f"no reconciliation line '{line_id}'{did_you_mean(line_id, [s.id for s in self.lines])}")

    def family(self, line: LineSpec) -> FamilySpec:
        return self.families[line.family]

    @property
    def items(self) -> tuple[str, ...]:
        """Every extract the lines need, in a stable order (CR_06: the entries after the cutoff
        that clear timing and booking items)."""
        tv = sorted({s.tv.item for s in self.lines})
        return ("CR_03", "CR_04", "CR_05", "CR_06", *tv)


def parse_sql(text: str, where: str, problems: list[Problem]) -> exp.Expression | None:
    try:
        return sqlglot.parse_one(str(text), read=DIALECT)
    except ParseError as e:
        problems.append(Problem(where, f"'{text}' does not parse as {DIALECT} SQL: {e.errors[0]['description'] if e.errors else e}"))
        return None


def check_columns(expr: exp.Expression, allowed, where: str, what: str, problems: list[Problem]) -> None:
    for col in expr.find_all(exp.Column):
        if col.name not in allowed:
            problems.append(Problem(where, f"unknown column '{col.name}' in {what}{did_you_mean(col.name, allowed)}"))


def _days(doc: _Located, path: tuple, value, problems: list[Problem]) -> int:
    """A whole number of days, at least 1 (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(Problem(doc.at(*path), f"{path[-1]} is a whole number of days, at least 1; got {value!r}"))
        return 1
    return value


def _unknown_keys(raw: dict, allowed, at, problems: list[Problem], *path) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(Problem(at(*path, key), f"unknown key '{key}'{did_you_mean(str(key), allowed)}"))


def _load_families(doc: _Located, problems: list[Problem]) -> dict[str, FamilySpec]:
    raw = doc.value.get("families") if isinstance(doc.value, dict) else None
    if not isinstance(raw, dict) or not raw:
        problems.append(Problem(doc.at(), "bridges.yaml needs 'families': a mapping of family id to its ordered rules"))
        return {}
    out: dict[str, FamilySpec] = {}
    for fam, rules in raw.items():
        if not isinstance(rules, list) or not rules:
            problems.append(Problem(doc.at("families", fam), f"family '{fam}' needs a list of rules"))
            continue
        specs: list[BridgeRuleSpec] = []
        for i, r in enumerate(rules):
            where = doc.at("families", fam, i)
            if not isinstance(r, dict):
                problems.append(Problem(where, "a bridge rule is a mapping with id, version, description and when"))
                continue
            _unknown_keys(r, RULE_KEYS, doc.at, problems, "families", fam, i)
            missing = [k for k in REQUIRED_RULE_KEYS if k not in r]
            if missing:
                problems.append(Problem(where, f"bridge rule needs {', '.join(missing)}"))
                continue
            nature = str(r["nature"])
            if nature not in NATURES:
                problems.append(Problem(doc.at("families", fam, i, "nature"),
                                        f"nature must be one of {', '.join(NATURES)}, not '{nature}'{did_you_mean(nature, NATURES)}"))
            journal = _journal(doc, ("families", fam, i), r.get("journal"), nature, problems)
            if any(s.id == r["id"] for s in specs):
                problems.append(Problem(doc.at("families", fam, i, "id"), f"bridge id '{r['id']}' is used twice in family {fam}"))
            cond = parse_sql(r["when"], doc.at("families", fam, i, "when"), problems)
            if cond is not None:
                specs.append(BridgeRuleSpec(str(r["id"]), str(r["version"]), str(r["description"]).strip(),
                                            str(r["when"]).strip(), cond, doc.at("families", fam, i, "when"), nature, journal))
        out[str(fam)] = FamilySpec(str(fam), tuple(specs), doc.at("families", fam))
    return out


def _journal(doc: _Located, path: tuple, raw, nature: str, problems: list[Problem]) -> Journal | None:
    """A booking rule declares the journal that books its items; no other nature has one."""
    at = doc.at(*path, "journal") if raw is not None else doc.at(*path)
    if nature != "booking":
        if raw is not None:
            problems.append(Problem(at, f"only a booking rule declares a journal; this rule's nature is {nature}"))
        return None
    if not isinstance(raw, dict) or set(raw) != set(JOURNAL_KEYS):
        problems.append(Problem(at, "a booking rule needs journal: {debit: ACCOUNT, credit: ACCOUNT, description: TEXT}"))
        return None
    if not all(isinstance(raw[k], str) and raw[k].strip() for k in JOURNAL_KEYS):
        problems.append(Problem(at, "journal debit, credit and description are non-empty strings (accounts quoted, e.g. \"18412\")"))
        return None
    if raw["debit"] == raw["credit"]:
        problems.append(Problem(at, f"journal debits and credits the same account {raw['debit']}"))
    return Journal(raw["debit"].strip(), raw["credit"].strip(), " ".join(raw["description"].split()))


def _load_lines(doc: _Located, catalog: Catalog, families: Mapping[str, FamilySpec], vouchers,
                problems: list[Problem]) -> tuple[LineSpec, ...]:
    raw = doc.value.get("lines") if isinstance(doc.value, dict) else None
    if not isinstance(raw, list) or not raw:
        problems.append(Problem(doc.at(), "lines.yaml needs 'lines': a list of reconciliation lines"))
        return ()
    out: list[LineSpec] = []
    for i, entry in enumerate(raw):
        start = len(problems)
        line = _load_line(doc, i, entry, catalog, families, vouchers, problems)
        if line is not None and len(problems) == start:
            if any(s.id == line.id for s in out):
                problems.append(Problem(doc.at("lines", i, "id"), f"line id '{line.id}' is used twice"))
            out.append(line)
    return tuple(out)


def _load_line(doc, i, entry, catalog, families, vouchers, problems) -> LineSpec | None:
    at = lambda *p: doc.at("lines", i, *p)  # noqa: E731
    if not isinstance(entry, dict):
        problems.append(Problem(at(), "a line is a mapping of keys"))
        return None
    _unknown_keys(entry, LINE_KEYS, doc.at, problems, "lines", i)
    missing = [k for k in LINE_KEYS if k not in entry and k not in OPTIONAL_LINE_KEYS]
    if missing:
        problems.append(Problem(at(), f"line needs {', '.join(missing)}"))
        return None
    if entry["class"] not in CLASSES:
        problems.append(Problem(at("class"), f"class must be asset or liability, not '{entry['class']}'{did_you_mean(str(entry['class']), CLASSES)}"))
    accounts = entry["gl_accounts"]
    if not isinstance(accounts, list) or not accounts or not all(isinstance(a, str) for a in accounts):
        problems.append(Problem(at("gl_accounts"), "gl_accounts is a list of account numbers written as strings, e.g. [\"18412\"]"))
        accounts = []
    if entry["bridges"] not in families:
        problems.append(Problem(at("bridges"), f"unknown bridge family '{entry['bridges']}'{did_you_mean(str(entry['bridges']), families)}"))
    report = entry.get("control_report")
    if report is not None and report not in catalog.items:
        problems.append(Problem(at("control_report"), f"unknown catalog item '{report}'{did_you_mean(str(report), catalog.items)}"))
    gl_columns = [c.name for c in catalog.item("CR_03").output]
    classification = entry.get("gl_classification")
    if classification is not None:
        accounts_ok = _check_classification(classification, vouchers, accounts, at("gl_classification"), problems)
        gl_columns = gl_columns + list(CLASSIFIED_COLUMNS) if accounts_ok else gl_columns
    gl_key = parse_sql(entry["gl_key"], at("gl_key"), problems)
    if gl_key is not None:
        check_columns(gl_key, gl_columns, at("gl_key"), "gl_key", problems)
        if gl_key.find(exp.AggFunc):
            problems.append(Problem(at("gl_key"), "gl_key is a per-entry expression; it may not aggregate"))
    gl_attrs = _attributes(entry.get("gl_attributes") or {}, gl_columns, lambda *p: at("gl_attributes", *p), problems)
    tv = _target(entry["tv"], catalog, lambda *p: at("tv", *p), problems)
    if tv is None or gl_key is None:
        return None
    window = _days(doc, ("lines", i, "clearing_window_days"), entry.get("clearing_window_days", DEFAULT_CLEARING_WINDOW_DAYS),
                   problems)
    line = LineSpec(str(entry["id"]), str(entry["title"]), tuple(accounts), str(entry["class"]), str(entry["gl_key"]),
                    gl_key, tv, str(entry["bridges"]), gl_attrs, report, at(),
                    None if classification is None else str(classification), window)
    names = [a.name for a in line.attributes]
    for a in line.attributes:
        if a.name in KEY_COLUMNS or names.count(a.name) > 1:
            problems.append(Problem(a.where, f"attribute '{a.name}' clashes with another key-row column"))
    family = families.get(line.family)
    for rule in family.rules if family else ():
        check_columns(rule.condition, line.key_columns, rule.where, f"bridge {rule.id} (used by line {line.id})", problems)
    return line


def _check_classification(name, vouchers, accounts, where: str, problems: list[Problem]) -> bool:
    """A line's gl_classification names the pack's voucher classification, which must classify
    every account of the line (a posting outside it would have no category)."""
    if name != VOUCHER_CLASSIFICATION:
        problems.append(Problem(where, f"unknown classification rule file '{name}'{did_you_mean(str(name), [VOUCHER_CLASSIFICATION])}; "
                                       f"the pack classifies postings with {VOUCHER_CLASSIFICATION}"))
        return False
    if vouchers is None:
        problems.append(Problem(where, f"gl_classification: the pack has no loadable {VOUCHER_CLASSIFICATION}"))
        return False
    outside = [a for a in accounts if a not in vouchers.gl_accounts]
    if outside:
        problems.append(Problem(where, f"{VOUCHER_CLASSIFICATION} classifies accounts {', '.join(vouchers.gl_accounts)}, "
                                       f"not {', '.join(outside)} of this line; add them to its gl_accounts"))
    return True


def _target(raw, catalog: Catalog, at, problems: list[Problem]) -> TargetSpec | None:
    if not isinstance(raw, dict) or any(k not in raw for k in ("item", "measure", "key")):
        problems.append(Problem(at(), "tv needs item, measure and key"))
        return None
    _unknown_keys(raw, TV_KEYS, at, problems)
    item_id = raw["item"]
    if item_id not in catalog.items:
        problems.append(Problem(at("item"), f"unknown catalog item '{item_id}'{did_you_mean(str(item_id), catalog.items)}"))
        return None
    item = catalog.items[item_id]
    if item.target_values is None:
        problems.append(Problem(at("item"), f"{item_id} is not a target-value item (it declares no target_values)"))
        return None
    columns = [c.name for c in item.output]
    for field in ("measure", "key"):
        if raw[field] not in columns:
            problems.append(Problem(at(field), f"unknown column '{raw[field]}' of {item_id}{did_you_mean(str(raw[field]), columns)}"))
    if raw["measure"] in columns and raw["measure"] != item.target_values.measure:
        problems.append(Problem(at("measure"), f"{item_id}'s target-value measure is '{item.target_values.measure}', not '{raw['measure']}'"))
    attrs = _attributes(raw.get("attributes") or {}, columns, lambda *p: at("attributes", *p), problems)
    return TargetSpec(str(item_id), str(raw["measure"]), str(raw["key"]), attrs)


def _attributes(raw, columns, at, problems: list[Problem]) -> tuple[AttributeSpec, ...]:
    if not isinstance(raw, dict):
        problems.append(Problem(at(), "attributes map a name to {sql: AGGREGATE, default: VALUE}"))
        return ()
    out = []
    for name, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) != {"sql", "default"}:
            problems.append(Problem(at(name), f"attribute '{name}' needs exactly sql and default"))
            continue
        default = spec["default"]
        if isinstance(default, float):
            problems.append(Problem(at(name, "default"), f"attribute '{name}': write a decimal default as a string, never a float"))
            continue
        if isinstance(default, str) and default and _is_number(default):
            default = Decimal(default)
        expr = parse_sql(spec["sql"], at(name, "sql"), problems)
        if expr is None:
            continue
        check_columns(expr, columns, at(name, "sql"), f"attribute '{name}'", problems)
        if not expr.find(exp.AggFunc):
            problems.append(Problem(at(name, "sql"), f"attribute '{name}' must aggregate the key's rows, e.g. SUM(...) or BOOL_OR(...)"))
        out.append(AttributeSpec(str(name), str(spec["sql"]), expr, default, at(name)))
    return tuple(out)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
        return True
    except ArithmeticError:
        return False
