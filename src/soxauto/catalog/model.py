"""Catalog items as frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from sqlglot import exp

from ..errors import UsageError, did_you_mean
from ..lake.contract import ARROW_TYPES, SQL_TYPES
from ..period import Period
from .rules import RuleSpec

KINDS = ("IPE", "CR", "DOC")
PARAMETER_TYPES = ("date", "id", "list")
# Bound for every item from the period and the entity; an item declares only its own lists.
STANDARD_PARAMETERS = ("cutoff", "as_of", "period_start", "year_start", "company_id")


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

    def bind(self, period: Period, company_id: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parameters of one run: standard ones, then catalog defaults, then overrides."""
        values: dict[str, Any] = dict(period.parameters())
        values["company_id"] = company_id
        declared = {p.name: p for p in self.parameters}
        for p in self.parameters:
            values[p.name] = list(p.default) if p.type == "list" else p.default
        for name, value in (overrides or {}).items():
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
