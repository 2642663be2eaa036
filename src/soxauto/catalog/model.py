"""Catalog items as frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from ..errors import UsageError, did_you_mean
from ..lake.contract import ARROW_TYPES, SQL_TYPES
from ..period import Period
from .rules import RuleSpec

KINDS = ("IPE", "CR", "DOC")
PARAMETER_TYPES = ("date", "id", "list")
# Bound by the engine, never declared by an item (which declares only its own lists): the
# period's dates and the entity for every item, then the run's time bounds (domain spec "Time
# words") for an item whose query or tests read them. The horizon H comes from the lake
# (soxauto.extract.horizon); window_end is C + the largest clearing window of the recon pack's
# lines, which only a caller that knows the pack can give (soxauto.extract.time_bounds).
ALWAYS_BOUND = ("cutoff", "as_of", "period_start", "year_start", "company_id")
TIME_BOUNDS = ("horizon", "window_end")
STANDARD_PARAMETERS = ALWAYS_BOUND + TIME_BOUNDS
STANDARD_TYPES: Mapping[str, str] = {"cutoff": "date", "as_of": "date", "period_start": "date", "year_start": "date",
                                     "company_id": "id", "horizon": "date", "window_end": "date"}
# The parts of a C&A rule written in SQL, whose parameters the extract's binding must hold.
_RULE_SQL = ("sql", "expect")
_RULE_MEASURES = ("measures", "other_measures")


@dataclass(frozen=True)
class ParameterSpec:
    name: str
    type: str
    default: Any = None
    description: str = ""


@dataclass(frozen=True)
class OutputColumn:
    name: str
    type: str  # a logical type of the source contract
    nullable: bool

    @property
    def arrow_type(self):
        return ARROW_TYPES[self.type]

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class TargetValueSpec:
    """How an item feeds a reconciliation line: the measure summed over ``in_tv`` rows."""

    measure: str


@dataclass(frozen=True)
class ItemSpec:
    id: str
    title: str
    kind: str
    control: str
    owner: str
    source_systems: tuple[str, ...]
    version: str
    description: str
    source_file: Path
    sql: str | None = None
    query: exp.Expression | None = None
    query_file: Path | None = None
    query_sha256: str | None = None
    parameters: tuple[ParameterSpec, ...] = ()
    output: tuple[OutputColumn, ...] = ()
    critical_columns: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    target_values: TargetValueSpec | None = None
    derived_from: tuple[str, ...] = ()
    notes: str = ""
    tests: tuple["RuleSpec", ...] = field(default=())

    @property
    def extractable(self) -> bool:
        return self.query is not None

    @property
    def money_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.output if c.type in ("money", "rate"))

    @property
    def compared_with(self) -> tuple[str, ...]:
        """The items its cross-source tests compare it with (their extracts are its tests' input)."""
        return tuple(sorted({r.get("other") for r in self.tests if r.kind == "cross_source"}))

    @cached_property
    def reads(self) -> frozenset[str]:
        """The names of the parameters its query and its C&A tests read (tests run with the
        extract's parameters, so a parameter only a test reads must be bound too)."""
        names = {p.name for p in self.query.find_all(exp.Placeholder)} if self.query is not None else set()
        for rule in self.tests:
            measures = [rule.get(k) for k in _RULE_MEASURES if isinstance(rule.get(k), Mapping)]  # history's is a list
            texts = [rule.get(k) for k in _RULE_SQL] + [t for m in measures for t in m.values()]
            for text in (t for t in texts if t):
                try:
                    names.update(p.name for p in sqlglot.parse_one(str(text), read="trino").find_all(exp.Placeholder))
                except ParseError:  # reported by the loader with its file:line
                    continue
        return frozenset(n for n in names if n)

    def bind(self, period: Period, company_id: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parameters of one run: standard ones, then catalog defaults, then overrides.

        ``horizon`` and ``window_end`` may be given as overrides for any item (a caller binds
        the run's time bounds once for all its items); they are kept, as dates, only for an item
        that reads them, so the others' parameters and evidence do not change."""
        values: dict[str, Any] = dict(period.parameters())
        values["company_id"] = company_id
        declared = {p.name: p for p in self.parameters}
        for p in self.parameters:
            values[p.name] = list(p.default) if p.type == "list" else p.default
        for name, value in (overrides or {}).items():
            if name in TIME_BOUNDS:
                if name in self.reads:
                    values[name] = _bound_date(self.id, name, value)
                continue
            if name not in declared:
                raise UsageError(
                    f"{self.id} has no parameter '{name}' to override{did_you_mean(name, declared)}"
                )
            if declared[name].type == "list" and not isinstance(value, (list, tuple)):
                value = [v.strip() for v in str(value).split(",") if v.strip()]
            values[name] = value
        return values


@dataclass(frozen=True)
class Catalog:
    items: Mapping[str, ItemSpec]
    pack: Path

    def item(self, item_id: str) -> ItemSpec:
        try:
            return self.items[item_id]
        except KeyError:
            raise UsageError(f"no catalog item '{item_id}'{did_you_mean(item_id, self.items)}") from None

    def extractable(self) -> list[ItemSpec]:
        return [i for i in self.items.values() if i.extractable]


def parse_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _bound_date(item_id: str, name: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    try:
        return parse_date(value)
    except ValueError:
        raise UsageError(f"{item_id}: {name} '{value}' is not a date; write it YYYY-MM-DD") from None
