"""The statement corpus: every statement a close of one period and entity sends, collected from
a real run and rendered for each engine, as ``soxauto sql render`` writes it (docs/engines.md).

The close runs on DuckDB over a lake (``Recorder``), step by step as ``close.entity`` does it:
the period check, the scope check, the entity's time bounds (H, the clearing window), then per
catalog item its extract (and the extracts its cross-source tests compare with) and its C&A
tests, then the reconciliation of the entity.
Every statement the engine is given is recorded with its parameters. Two statements of the
reconciliation run only when the data calls for them: the overlap query of a line (when two
bridge rules claim one key row) and its CR_03/CR_04 tie-out (when the GL differs from the key
rows); they are added for every line, marked ``conditional``, so the corpus shows everything a
close can send. Samples of failing rows are sent when a test fails, so they are in the corpus
when the lake's data makes a test fail.

Each statement is rendered by the ``Renderer`` the engines use, without a binding: tables keep
their logical names (``nav.gl_entries``), which each engine replaces by a projection of its bound
physical table, and registered extracts keep the names the close gives them. Everything else
(the capability rewrites, placeholders, Athena's literals) is what the engine sends. The tests'
source batches a DuckDB close of many entities shares (``validation.shared``) are left out: the
corpus holds what Athena and SQL Server receive, which never batch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping

import pyarrow as pa
from sqlglot import exp

from ..lake.binding import Binding
from ..lake.contract import contract
from .capability import capabilities
from .duckdb import DuckDBEngine
from .render import Rendered, Renderer

FORMAT = 1


@dataclass(frozen=True)
class Statement:
    """One statement of the close, as the product generates it (before any engine renders it)."""

    number: int  # 1-based, in the order the close sends them
    what: str  # extract_cr_03, tests_ipe_08, reconcile_vouchers, reconcile_vouchers_overlap, ...
    query: exp.Expression
    parameters: Mapping[str, Any]
    conditional: str = ""  # when the close sends it only if the data calls for it: the condition

    @property
    def stem(self) -> str:
        return f"{self.number:03d}_{self.what}"


@dataclass(frozen=True)
class Corpus:
    period: str
    entity: str
    statements: tuple[Statement, ...]


Check = Callable[["Recorder", Statement], None]


class Recorder(DuckDBEngine):
    """DuckDB that records every statement it is given, labelled with the step of the close
    that sent it. ``check(engine, statement)``, when given, is called with each statement while
    the extracts it reads are still registered (the tests run the renderings there). The lake's
    tables are also views under their logical names, so a statement rendered without a binding
    runs here as it is."""

    def __init__(self, binding: Binding, pack, check: Check | None = None):
        super().__init__(binding)
        self.pack, self.check, self.step = pack, check, ""
        self.statements: list[Statement] = []
        self._seen: dict[str, int] = {}  # canonical text + parameters -> index, for conditional ones
        self._registered: dict[str, exp.Table] = {}
        for spec in contract().tables:
            tb = self.binding.table(spec.qualified)
            columns = [exp.alias_(exp.column(tb.physical_column(c), quoted=True), c) for c in spec.column_names]
            schema = exp.Create(this=exp.to_table(spec.schema), kind="SCHEMA", exists=True)
            view = exp.Create(this=exp.to_table(spec.qualified), kind="VIEW",
                              expression=exp.select(*columns).from_(self.source(tb)))
            for statement in (schema, view):
                self._con.execute(statement.sql(dialect="duckdb"))

    # -- the engine, recording -------------------------------------------------------------
    def run(self, query, params):
        self.note(query, params)
        return super().run(query, params)

    def rows(self, query, params):
        self.note(query, params)
        return super().rows(query, params)

    def stream(self, query, params, batch_rows):
        self.note(query, params)
        return super().stream(query, params, batch_rows)

    def register(self, name: str, table) -> exp.Table:
        registered = super().register(name, table)
        self._registered[name] = registered
        line = self._line_of(name, "rk_")
        if line is not None:
            self._conditional(line, registered)
        return registered

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)
        super().unregister(name)

    def fetch(self, sql: str, params: Any = None) -> list[tuple]:
        """Rows of a statement given as text (a check runs renderings back through this)."""
        return self._con.execute(sql, params).fetchall() if params else self._con.execute(sql).fetchall()

    # -- recording ---------------------------------------------------------------------------
    def note(self, query: exp.Expression, params: Mapping[str, Any], what: str | None = None, conditional: str = "") -> None:
        key = _key(query, params) if conditional or self._seen else ""
        index = self._seen.get(key)
        if index is not None:
            if not conditional:  # the close sends a statement added as conditional: that one, sent
                self.statements[index] = replace(self.statements[index], conditional="")
                del self._seen[key]
            return
        statement = Statement(len(self.statements) + 1, what or self._label(query), query.copy(), dict(params),
                              conditional)
        if conditional:
            self._seen[key] = len(self.statements)
        self.statements.append(statement)
        if self.check is not None:
            self.check(self, statement)

    def _label(self, query: exp.Expression) -> str:
        if self.step != "reconcile":
            return self.step
        read = {t.name.lower() for t in query.find_all(exp.Table)}
        for spec in self.pack.lines:
            tv = f"rc_{spec.tv.item.lower()}_"
            if any(n.startswith(f"rk_{spec.id.lower()}_") for n in read) or (
                    any(n.startswith("rc_cr_03_") for n in read) and any(n.startswith(tv) for n in read)):
                return f"reconcile_{spec.id.lower()}"
        return "reconcile"

    def _line_of(self, name: str, prefix: str):
        for spec in self.pack.lines:
            if name.lower().startswith(f"{prefix}{spec.id.lower()}_"):
                return spec
        return None

    def _conditional(self, spec, keys: exp.Table) -> None:
        """The line's overlap query and tie-out, which a close sends only when the data calls
        for them, with the parameters of the line's own statements."""
        from ..recon.bridges import overlap_query
        from ..recon.keyjoin import tie_out_query

        mine = [s for s in self.statements if s.what == f"reconcile_{spec.id.lower()}"]
        if not mine:
            return
        params, what = mine[-1].parameters, f"reconcile_{spec.id.lower()}"
        self.note(overlap_query(keys, self.pack.family(spec).rules), params, f"{what}_overlap",
                  "two bridge rules claim one key row")
        cr03, cr04 = (next((t for n, t in self._registered.items() if n.lower().startswith(p)), None)
                      for p in ("rc_cr_03_", "rc_cr_04_"))
        if cr03 is not None and cr04 is not None:
            self.note(tie_out_query(spec, cr03, cr04), params, f"{what}_tie_out",
                      "the line's GL balance differs from its key rows")


def _key(query: exp.Expression, params: Mapping[str, Any]) -> str:
    return query.sql(dialect="trino") + "\n" + json.dumps(dict(params), default=str, sort_keys=True)


def collect(binding: Binding, period: str | None, entity: str, *, catalog=None, pack=None,
            check: Check | None = None) -> Corpus:
    """Run one entity's close of ``period`` on DuckDB over ``binding`` and record its statements.
    An entity out of scope, or a period the lake holds no GL balances for, is a usage error."""
    from ..catalog import load_catalog
    from ..catalog.model import TIME_BOUNDS
    from ..close.plan import make_plan
    from ..extract import extract, resolve_period, time_bounds
    from ..recon import load_pack, reconcile
    from ..validation import validate

    catalog = catalog or load_catalog()
    pack = pack or load_pack(catalog.pack, catalog)
    with Recorder(binding, pack, check) as engine:
        engine.step = "period"
        closing = resolve_period(engine, period)
        engine.step = "scope"
        plan = make_plan(engine, catalog, pack, closing, [entity])
        fresh, tests, bounds = {}, {}, None
        for item in plan.items:
            names = [n for n in (item, *plan.others.get(item, ())) if n not in fresh]
            if bounds is None and any(set(TIME_BOUNDS) & catalog.item(n).reads for n in names):
                # once per entity, by the first step whose items read H or the clearing window
                engine.step = "time_bounds"
                bounds = time_bounds(engine, pack, closing, entity, [catalog.item(i) for i in plan.items])
            for name in names:
                engine.step = f"extract_{name.lower()}"
                fresh[name] = extract(engine, catalog.item(name), closing, entity, bounds or {})
            engine.step = f"tests_{item.lower()}"
            tests[item] = validate(engine, fresh[item], others={o: fresh[o] for o in plan.others.get(item, ())})
        engine.step = "reconcile"
        reconcile(engine, {i: fresh[i] for i in plan.recon_items}, closing, plan.entity(entity), pack=pack,
                  validations={i: tests[i] for i in plan.recon_items})
        return Corpus(str(closing), entity, tuple(engine.statements))


# -- rendering and writing -------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    dialect: str
    folder: Path
    statements: int
    files: tuple[str, ...]
    problems: tuple[tuple[str, str], ...]  # (file, problem) where a rendering breaks its capability table


def render(corpus: Corpus, dialect: str) -> list[tuple[Statement, Rendered]]:
    """Each statement as the engine of ``dialect`` receives it (DuckDB binds ``$name``, Athena
    and SQL Server ``?`` in text order)."""
    caps = capabilities(dialect)
    renderer = Renderer(caps, None, None, positional=caps.name != "duckdb")
    return [(s, renderer.rendered(s.query, s.parameters)) for s in corpus.statements]


def write(corpus: Corpus, dialect: str, out: Path) -> Written:
    """``NNN_<what>.sql`` (the text as sent, placeholders included) and ``NNN_<what>.params.json``
    (the values bound, in binding order, and those written into the text as literals) per
    statement. Files of an earlier corpus in ``out`` are replaced, other files are left."""
    from .lint import problems

    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9][0-9]*_*.sql"):
        old.unlink()
    for old in out.glob("[0-9][0-9][0-9]*_*.params.json"):
        old.unlink()
    files, found = [], []
    for statement, rendered in render(corpus, dialect):
        sql_name, params_name = f"{statement.stem}.sql", f"{statement.stem}.params.json"
        (out / sql_name).write_text(rendered.sql + "\n", "utf-8")
        (out / params_name).write_text(dumps(parameters_doc(statement, rendered, dialect)), "utf-8")
        files += [sql_name, params_name]
        found += [(sql_name, p) for p in problems(dialect, rendered.sql)]
    return Written(dialect, out, len(corpus.statements), tuple(files), tuple(found))


def parameters_doc(statement: Statement, rendered: Rendered, dialect: str) -> dict:
    """What ``NNN_<what>.params.json`` holds: each driver parameter in binding order (its catalog
    parameter, ``gl_accounts[0]`` for an element of a list, and for named placeholders the
    placeholder the driver binds it to), and the values written into the text as literals."""
    values = list(rendered.parameters.values()) if isinstance(rendered.parameters, dict) else list(rendered.parameters)
    named = isinstance(rendered.parameters, dict)
    doc: dict[str, Any] = {
        "format": FORMAT, "statement": f"{statement.stem}.sql", "dialect": dialect,
        "parameters": [{"parameter": _public(n), **({"placeholder": n} if named else {}), **encode(v)}
                       for n, v in zip(rendered.names, values)],
        "literals": [{"parameter": _public(n), **encode(v)} for n, v in rendered.literals],
    }
    if statement.conditional:
        doc["sent_only_when"] = statement.conditional
    return doc


def dumps(doc: Mapping[str, Any]) -> str:
    """JSON with one parameter per line: readable, and a reviewable diff when a value changes."""
    lines = []
    for key, value in doc.items():
        if isinstance(value, list) and value:
            inner = ",\n".join(f"    {json.dumps(v, ensure_ascii=False)}" for v in value)
            lines.append(f"  {json.dumps(key)}: [\n{inner}\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


_ELEMENT = re.compile(r"^(.+)__(\d+)$")


def _public(name: str) -> str:
    """``gl_accounts__0`` (element 0 of a list parameter) as ``gl_accounts[0]``."""
    m = _ELEMENT.match(name)
    return f"{m.group(1)}[{m.group(2)}]" if m else name


def encode(value: Any) -> dict:
    """A bound value as JSON with its type: dates and timestamps as ISO strings, decimals as
    strings (exact), so the value can be rebuilt as what the driver bound."""
    if value is None:
        return {"type": "null", "value": None}
    if isinstance(value, bool):
        return {"type": "boolean", "value": value}
    if isinstance(value, int):
        return {"type": "integer", "value": value}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": format(value, "f")}
    if isinstance(value, datetime):
        return {"type": "timestamp", "value": value.isoformat(sep=" ")}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, pa.Scalar):
        return encode(value.as_py())
    return {"type": "string", "value": str(value)}


def decode(entry: Mapping[str, Any]) -> Any:
    """The value ``encode`` wrote."""
    kind, value = entry["type"], entry["value"]
    if kind == "decimal":
        return Decimal(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    return value
