"""Source scans shared by every entity of a close: each independent source query that
aggregates (every tie-out, a witness on a tie-out's groups) runs ONCE for all entities of the
period, and each entity's test then reads its own group of the result. Queries listing rows
(witness keys, referential keys) are not batched: each entity would read its rows back with a
filter over every entity's rows, which costs what the batch saves.

Per entity, such a query differs only by the bound ``:company_id``. The batch keeps the
catalog's query word for word and evaluates it once per entity of a list, as a lateral join::

    SELECT _entity.company_id AS _entity_id, _q.m0, ...
    FROM (VALUES ($entity_0), ($entity_1), ...) AS _entity(company_id)
    CROSS JOIN LATERAL (<the catalog query, :company_id read as _entity.company_id>) AS _q

A lateral subquery is evaluated for each row on its left, so the rows tagged with one entity
are exactly what the per-entity query returns for it (an aggregate over no rows included):
a substitution, not a rewrite of the filter. Every other parameter the query reads keeps its
bound value, and the batch is keyed by those values, so an entity whose values differ gets its
own batch. Source queries of several items with the same FROM, WHERE, GROUP BY and HAVING
(CR_03's and CR_04's tie-outs read the same GL entries) share one batch: their projections side
by side over the same rows or groups give each query exactly its own columns.

Only the DuckDB engine batches (other engines, and entities not in the list, run the
per-entity queries). If a batch fails,
the item's tests fall back to their per-entity statement, so a rule can still be ``errored``
on its own.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa
from sqlglot import exp

from ..catalog.model import TIME_BOUNDS, ItemSpec
from ..engines.base import Engine
from ..engines.render import referenced_parameters
from ..errors import SoxautoError
from ..period import Period
from . import compile as c

ENTITY, ENTITY_ID = "_entity", "_entity_id"
SOURCED = ("source_tie_out", "witness", "referential")


@dataclass
class _Group:
    """Source queries read once together: a common FROM/WHERE/GROUP BY/HAVING and the union
    of their projections (``m0``, ``m1`` ...), deduplicated by their text."""

    signature: str
    base: exp.Select
    columns: dict[str, exp.Expression] = field(default_factory=dict)  # text -> expression
    frozen: Any = False  # once a batch has run: (name, query, parameters), and no member may join

    def add(self, query: exp.Select) -> dict[str, str]:
        """Output name of ``query`` -> the batch column holding it."""
        out = {}
        for name, proj in zip(query.named_selects, query.expressions):
            expr = proj.this if isinstance(proj, exp.Alias) else proj
            key = expr.sql(dialect="trino")
            self.columns.setdefault(key, expr.copy())
            out[name] = f"m{list(self.columns).index(key)}"
        return out

    def freeze(self) -> tuple[str, exp.Select, tuple[str, ...]]:
        """The batch's table name, query and parameters; no projection may be added after."""
        if self.frozen is False:
            text = self.signature + "|" + "|".join(self.columns)
            query = self.base.copy()
            query.set("expressions", [exp.alias_(e.copy(), f"m{k}") for k, e in enumerate(self.columns.values())])
            names = tuple(n for n in referenced_parameters(query) if n != "company_id")
            self.frozen = ("shared_" + hashlib.sha1(text.encode()).hexdigest()[:12], query, names)
        return self.frozen


@dataclass(frozen=True)
class Member:
    """Where one rule's source rows live in a batch: the registered table and its columns."""

    table: str
    columns: tuple[tuple[str, str], ...]  # (the catalog query's output name, batch column)

    def subquery(self, alias: str) -> exp.Subquery:
        """``(SELECT m0 AS name, ... FROM <batch> WHERE _entity_id = :company_id) AS alias``."""
        cols = [exp.alias_(exp.column(col, table="b"), name) for name, col in self.columns]
        where = exp.EQ(this=exp.column(ENTITY_ID, table="b"), expression=exp.Placeholder(this="company_id"))
        q = exp.select(*cols).from_(exp.to_table(self.table).as_("b")).where(where)
        sub = exp.Subquery(this=q, alias=exp.TableAlias(this=exp.to_identifier(alias)))
        sub.meta["source"] = q.sql(dialect="trino")
        return sub


@dataclass(frozen=True)
class Batch:
    """One batch as run: its rows (tagged ``_entity_id``), SQL and bound parameters."""

    table: pa.Table
    sql: str
    parameters: Mapping[str, Any]

    @cached_property
    def _by_entity(self) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for row in self.table.to_pylist():
            out.setdefault(row[ENTITY_ID], []).append(row)
        return out

    def rows(self, entity: str) -> list[dict]:
        """The entity's rows (read in Python only for a scalar query: one row per entity)."""
        return self._by_entity.get(entity, [])


class SharedScans:
    """Thread-safe cache of source batches for one close (one period, a list of entities).
    Give it the items the close will test, so queries of several items can share a scan."""

    def __init__(self, entities: Sequence[str], items: Iterable[ItemSpec] = ()):
        self.entities = tuple(entities)
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}  # signature -> the group new queries may still join
        self._members: dict[tuple[int, str], tuple[_Group, tuple] | None] = {}
        self._batches: dict[tuple, tuple[threading.Lock, list]] = {}
        self._registered: "weakref.WeakKeyDictionary[Any, dict[str, int]]" = weakref.WeakKeyDictionary()
        self._items = tuple(items)
        for item in self._items:
            self.layout(item)

    def layout(self, item: ItemSpec) -> dict[str, tuple[_Group, tuple]]:
        """Rule id -> (its group, its columns), for the rules of ``item`` that can be batched."""
        with self._lock:
            out = {}
            for rule in item.tests:
                key = (id(item), rule.id)
                if key not in self._members:
                    self._members[key] = self._join(rule)
                if self._members[key] is not None:
                    out[rule.id] = self._members[key]
            return out

    def _join(self, rule) -> tuple[_Group, tuple] | None:
        if rule.kind not in SOURCED or not rule.get("sql"):
            return None
        query = c.parse(rule.get("sql"))
        if not batchable(query) or any(p.name in TIME_BOUNDS for p in query.find_all(exp.Placeholder)):
            # The horizon is the entity's own: one batch per entity, each evaluated for every
            # entity, would cost more than the per-entity query it replaces.
            return None
        # A query with parameters in its projections keeps a group of its own, so that every
        # member of a group reads exactly the parameters of the common FROM/WHERE.
        signature = _signature(query) + (f"|{rule.id}" if _projection_parameters(query) else "")
        group = self._groups.get(signature)
        if group is None or group.frozen is not False:
            base = query.copy()
            base.set("expressions", [])
            group = self._groups[signature] = _Group(signature, base)
        return group, tuple(group.add(query).items())

    def prepare(self, engine: Engine, period: Period) -> int:
        """Run now, on ``engine``, every batch the laid-out items need for ``period``; returns
        how many ran. A close does this before its workers start, on an engine with every
        core: otherwise the first worker to need a batch runs it on its one thread while the
        others, needing the same batch, wait. A batch that fails is kept as failed, as in
        ``resolve``."""
        ran = 0
        for item in self._items:
            groups = [group for group, _ in self.layout(item).values()]
            for entity in self.entities if groups else ():
                params = item.bind(period, entity)
                ran += sum(self._batch(engine, group, params)[2] for group in groups)
        return ran

    def resolve(self, engine: Engine, entry: tuple[_Group, tuple], params: Mapping[str, Any]) -> tuple[Member, Batch]:
        """The batch holding a rule's rows for these parameters, run once (other threads
        asking for it wait), registered on ``engine`` under the returned member's table."""
        group, columns = entry
        name, batch, _ = self._batch(engine, group, params)
        if isinstance(batch, SoxautoError):
            raise batch
        self._register(engine, name, batch)
        return Member(name, columns), batch

    def _batch(self, engine: Engine, group: _Group, params: Mapping[str, Any]) -> tuple[str, Batch | SoxautoError, bool]:
        """The group's batch for these parameters (run on ``engine`` if no one has yet); True
        when this call ran it."""
        with self._lock:
            name, query, names = group.freeze()
        values = {n: params[n] for n in names}
        key = (name, tuple(sorted((n, _frozen(v)) for n, v in values.items())))
        with self._lock:
            lock, slot = self._batches.setdefault(key, (threading.Lock(), []))
        with lock:
            if slot:
                return name, slot[0], False
            slot.append(_run(engine, query, values, self.entities))
        return name, slot[0], True

    def _register(self, engine: Engine, name: str, batch: Batch) -> None:
        # Registered once per connection and kept: each entity's statement filters its group.
        with self._lock:
            done = self._registered.setdefault(engine, {})
            if done.get(name) == id(batch.table):
                return
            done[name] = id(batch.table)
        engine.register(name, batch.table)


def _run(engine: Engine, query: exp.Select, values: dict[str, Any], entities: Sequence[str]) -> Batch | SoxautoError:
    statement = lateral(query, len(entities))
    params = {**values, **{f"entity_{k}": e for k, e in enumerate(entities)}}
    try:
        result = engine.run(statement, params)
    except SoxautoError as e:
        return e
    return Batch(result.table, result.sql, dict(result.parameters or {}))


def lateral(query: exp.Select, n: int) -> exp.Select:
    """``query`` evaluated once per entity of a list of ``n`` bound entity ids (see the module)."""
    body = query.copy()
    for p in list(body.find_all(exp.Placeholder)):
        if p.name == "company_id":
            p.replace(exp.column("company_id", table=ENTITY))
    rows = [exp.Tuple(expressions=[exp.Placeholder(this=f"entity_{k}")]) for k in range(n)]
    entities = exp.values(rows, alias=ENTITY, columns=["company_id"])
    cols = [exp.alias_(exp.column("company_id", table=ENTITY), ENTITY_ID)]
    cols += [exp.column(name, table="_q") for name in query.named_selects]
    lat = exp.Lateral(this=body.subquery(), alias=exp.TableAlias(this=exp.to_identifier("_q")))
    return exp.select(*cols).from_(entities).join(lat, join_type="CROSS")


def batchable(query: exp.Expression) -> bool:
    """A query can be batched when it is one SELECT reading ``:company_id``, naming every
    output column once, without the names the batch itself uses."""
    if not isinstance(query, exp.Select) or not any(p.name == "company_id" for p in query.find_all(exp.Placeholder)):
        return False
    names = query.named_selects
    if len(names) != len(query.expressions) or "" in names or "*" in names or len(set(names)) != len(names):
        return False
    used = {t.alias_or_name for t in query.find_all(exp.Table)} | {a.name for a in query.find_all(exp.TableAlias)}
    if {ENTITY, "_q"} & used or ENTITY_ID in names:
        return False
    # A list of rows (witness or referential keys) is not batched: each entity would read its
    # rows back with a filter over every entity's rows, which costs what the batch saves.
    return _shape(query) in ("grouped", "scalar")


def _shape(query: exp.Select) -> str | None:
    """grouped | scalar | rows: queries of one shape and one signature can share a scan."""
    if query.args.get("distinct") or any(query.args.get(k) for k in ("order", "limit", "offset", "qualify", "windows")):
        return None
    if any(p.find(exp.Window, exp.Subquery, exp.Select) for p in query.expressions):
        return None
    if query.args.get("group"):
        return "grouped"
    aggs = [bool(p.find(exp.AggFunc)) for p in query.expressions]
    return "scalar" if all(aggs) else "rows" if not any(aggs) else None


def _signature(query: exp.Select) -> str:
    base = query.copy()
    base.set("expressions", [])
    return f"{_shape(query)}:{base.sql(dialect='trino')}"


def _projection_parameters(query: exp.Select) -> bool:
    return any(p.find(exp.Placeholder) for p in query.expressions)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value
