"""``soxauto lake map``: propose an Athena binding from a Glue database's tables and columns.

Names are compared after normalising: lower case, every run of characters other than a-z and
0-9 turned into one '_', leading and trailing '_' dropped (NAV's ``Entry No_`` becomes
``entry_no``). Then, per logical table ``schema.table`` of the source contract:

* table rule, strongest first: the Glue name is ``schema_table`` (3), is ``table`` (2), or
  ends with ``_table`` (1). Pairs are taken best first by (rule, share of the logical columns
  found, Glue name); each Glue table binds at most one logical table.
* column rule, strongest first: the same name (3), the same normalised name (2), the same
  normalised name without '_' (1); each physical column binds at most one logical column.

Logical columns with no match and Glue columns left over are listed; a type that cannot hold the
logical type (money not DECIMAL(p,2), say) is noted. The proposal is a starting point to review,
never bound silently: a logical column missing from it fails the first query that reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from ..errors import EngineError, UsageError
from .contract import TableSpec, contract

_RUN = re.compile(r"[^a-z0-9]+")
# logical type -> Glue type names that hold it (decimal scale checked separately)
_TYPES = {"id": ("string", "varchar", "char"), "money": ("decimal",), "rate": ("decimal",), "date": ("date",),
          "ts": ("timestamp",), "bool": ("boolean",), "int": ("tinyint", "smallint", "int", "integer", "bigint")}
_SCALE = {"money": 2, "rate": 6}


@dataclass(frozen=True)
class GlueTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Glue type), partition keys last
    location: str | None = None


@dataclass
class TableMatch:
    logical: str
    glue_table: str
    rule: int
    columns: dict[str, str] = field(default_factory=dict)  # logical -> physical, every matched column
    missing: list[str] = field(default_factory=list)       # logical columns not found
    extra: list[str] = field(default_factory=list)         # Glue columns not used
    notes: list[str] = field(default_factory=list)

    @property
    def renames(self) -> dict[str, str]:
        return {c: p for c, p in self.columns.items() if p != c}


@dataclass
class Proposal:
    database: str
    matches: list[TableMatch]
    unmatched: list[str]   # logical tables with no Glue table
    unused: list[str]      # Glue tables bound to nothing

    def binding(self, region: str | None = None) -> dict:
        doc: dict = {"engine": "athena"}
        if region:
            doc["connection"] = {"region": region}
        tables = {}
        for m in sorted(self.matches, key=lambda m: m.logical):
            spec: dict = {"location": f"{self.database}.{m.glue_table}"}
            if m.renames:
                spec["columns"] = m.renames
            tables[m.logical] = spec
        doc["tables"] = tables
        return doc

    def binding_yaml(self, region: str | None = None) -> str:
        head = [f"# Proposed by 'soxauto lake map --database {self.database}'. Review before use."]
        for m in sorted(self.matches, key=lambda m: m.logical):
            if m.missing:
                head.append(f"# {m.logical}: no column for {', '.join(m.missing)}: map them by hand")
            head.extend(f"# {m.logical}: {n}" for n in m.notes)
        head.extend(f"# {t}: no Glue table matched" for t in self.unmatched)
        body = yaml.safe_dump(self.binding(region), sort_keys=False, allow_unicode=True)
        return "\n".join(head) + "\n" + body


def normalise(name: str) -> str:
    return _RUN.sub("_", name.lower()).strip("_")


def list_tables(glue, database: str) -> list[GlueTable]:
    """Every table of ``database`` with its columns and partition keys, all pages."""
    out = []
    try:
        for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
            for t in page.get("TableList", []):
                sd = t.get("StorageDescriptor") or {}
                cols = [*sd.get("Columns", []), *t.get("PartitionKeys", [])]
                out.append(GlueTable(t["Name"], tuple((c["Name"], c.get("Type", "")) for c in cols), sd.get("Location")))
    except ClientError as e:
        err = e.response.get("Error", {})
        if err.get("Code") == "EntityNotFoundException":
            raise UsageError(f"Glue database '{database}' does not exist in this account and region; "
                             "list them with 'aws glue get-databases' or pass --region") from None
        raise EngineError(f"Glue GetTables on '{database}' failed: {err.get('Code')}: {err.get('Message')}") from None
    except BotoCoreError as e:
        raise EngineError(f"Glue GetTables on '{database}' failed: {e}") from None
    return sorted(out, key=lambda t: t.name)


def table_rule(spec: TableSpec, glue_name: str) -> int:
    n = normalise(glue_name)
    if n == f"{spec.schema}_{spec.name}":
        return 3
    if n == spec.name:
        return 2
    return 1 if n.endswith("_" + spec.name) else 0


def match_columns(spec: TableSpec, table: GlueTable) -> TableMatch:
    m = TableMatch(spec.qualified, table.name, table_rule(spec, table.name))
    free = dict(table.columns)
    keys = [lambda p: p, normalise, lambda p: normalise(p).replace("_", "")]
    for col in spec.columns:
        wanted = [col.name, col.name, col.name.replace("_", "")]
        found = next((p for key, w in zip(keys, wanted) for p in free if key(p) == w), None)
        if found is None:
            m.missing.append(col.name)
            continue
        m.columns[col.name] = found
        note = type_note(col.type, free.pop(found))
        if note:
            m.notes.append(f"{col.name} ({found}) {note}")
    m.extra = list(free)
    return m


def type_note(logical: str, glue_type: str) -> str | None:
    t = glue_type.lower().replace(" ", "")
    base = t.split("(")[0]
    if base not in _TYPES[logical]:
        return f"is {glue_type or 'untyped'} in Glue; the contract wants {logical}"
    if logical in _SCALE and not t.endswith(f",{_SCALE[logical]})"):
        return f"is {glue_type}; {logical} needs decimal(p,{_SCALE[logical]}) so amounts stay exact"
    return None


def propose(database: str, tables: list[GlueTable]) -> Proposal:
    candidates = []
    for spec in contract().tables:
        for t in tables:
            if table_rule(spec, t.name):
                m = match_columns(spec, t)
                share = len(m.columns) / len(spec.columns)
                candidates.append(((-m.rule, -share, t.name, spec.qualified), m))
    taken_logical: set[str] = set()
    taken_glue: set[str] = set()
    matches = []
    for _, m in sorted(candidates, key=lambda c: c[0]):
        if m.logical in taken_logical or m.glue_table in taken_glue:
            continue
        taken_logical.add(m.logical)
        taken_glue.add(m.glue_table)
        matches.append(m)
    unmatched = [t for t in contract().names if t not in taken_logical]
    unused = [t.name for t in tables if t.name not in taken_glue]
    return Proposal(database, sorted(matches, key=lambda m: m.logical), unmatched, unused)
