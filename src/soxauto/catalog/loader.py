"""Load a control pack's catalog: one YAML file per item, its query in a ``.sql`` file beside it.

Every mistake is reported as ``file:line: message`` with a did-you-mean suggestion, and all of
a pack's mistakes are reported at once.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from .. import yamlfile
from ..errors import CatalogError, Problem, did_you_mean
from ..lake.contract import contract, parse_type
from ..errors import UsageError
from .dialects import check_dialects
from .rules import parse_rules
from .model import (
    KINDS,
    PARAMETER_TYPES,
    STANDARD_PARAMETERS,
    Catalog,
    ItemSpec,
    OutputColumn,
    ParameterSpec,
    TargetValueSpec,
)

CANONICAL_DIALECT = "trino"
REQUIRED = ("id", "title", "kind", "control", "owner", "source_systems", "version", "description")
OPTIONAL = ("query", "parameters", "output", "critical_columns", "key", "target_values", "derived_from", "notes", "tests")


def default_pack() -> Path:
    return Path(str(resources.files("soxauto").joinpath("packs", "cpg1")))


class _Located:
    """A YAML document as plain values plus the line of every mapping key and list item."""

    def __init__(self, path: Path):
        self.path = path
        text = path.read_text("utf-8")
        try:
            node = yamlfile.compose(text)
        except yamlfile.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            raise CatalogError("catalog file does not parse", [Problem(f"{path}:{line}", str(e).splitlines()[0])]) from None
        self.lines: dict[tuple, int] = {}
        self.value = yamlfile.located(node, (), self.lines) if node is not None else {}

    def at(self, *where) -> str:
        while where and where not in self.lines:
            where = where[:-1]
        return f"{self.path}:{self.lines.get(where, 1)}"


def load_catalog(pack: str | Path | None = None) -> Catalog:
    pack = Path(pack) if pack else default_pack()
    folder = pack / "catalog"
    if not folder.is_dir():
        raise CatalogError(f"{pack}: no catalog folder in this pack")
    problems: list[Problem] = []
    items: dict[str, ItemSpec] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            item = load_item(path, problems)
        except CatalogError as e:
            problems.extend(e.problems)
            continue
        if item is None:
            continue
        if item.id in items:
            problems.append(Problem(f"{path}:1", f"item id '{item.id}' is also defined in {items[item.id].source_file}"))
        items[item.id] = item
    for item in items.values():
        for ref in item.derived_from:
            if ref not in items:
                problems.append(Problem(f"{item.source_file}:1", f"derived_from names unknown item '{ref}'{did_you_mean(ref, items)}"))
    if problems:
        raise CatalogError(f"catalog {folder} has {len(problems)} problem(s)", problems)
    return Catalog(MappingProxyType(dict(sorted(items.items()))), pack)


def load_item(path: Path, problems: list[Problem]) -> ItemSpec | None:
    doc = _Located(path)
    raw = doc.value
    start = len(problems)
    if not isinstance(raw, dict):
        problems.append(Problem(doc.at(), "an item must be a mapping of keys"))
        return None
    for key in raw:
        if key not in REQUIRED + OPTIONAL:
            problems.append(Problem(doc.at(key), f"unknown key '{key}'{did_you_mean(key, REQUIRED + OPTIONAL)}"))
    for key in REQUIRED:
        if key not in raw:
            problems.append(Problem(doc.at(), f"missing required key '{key}'"))
    if len(problems) > start:
        return None
    if raw["id"] != path.stem:
        problems.append(Problem(doc.at("id"), f"item id '{raw['id']}' does not match its file name '{path.stem}'"))
    if raw["kind"] not in KINDS:
        problems.append(Problem(doc.at("kind"), f"unknown kind '{raw['kind']}'{did_you_mean(raw['kind'], KINDS)}"))

    parameters = _parameters(doc, raw.get("parameters") or {}, problems)
    output = _output(doc, raw.get("output") or [], problems)
    names = [c.name for c in output]
    for field in ("critical_columns", "key"):
        for i, col in enumerate(raw.get(field) or []):
            if col not in names:
                problems.append(Problem(doc.at(field, i), f"unknown column '{col}' in {field}{did_you_mean(col, names)}"))
    rules = parse_rules(str(raw["id"]), raw.get("tests") or [], doc.at, names, path.parent, problems)
    target = None
    if "target_values" in raw:
        measure = (raw["target_values"] or {}).get("measure")
        if measure not in names:
            problems.append(Problem(doc.at("target_values"), f"unknown measure column '{measure}'{did_you_mean(str(measure), names)}"))
        if not any(c.name == "in_tv" and c.type == "bool" for c in output):
            problems.append(Problem(doc.at("target_values"), "a target-value item needs a boolean output column 'in_tv'"))
        target = TargetValueSpec(measure)

    sql = query = query_file = digest = None
    if raw.get("query"):
        query_file = path.parent / raw["query"]
        if not query_file.is_file():
            problems.append(Problem(doc.at("query"), f"query file '{raw['query']}' does not exist"))
        else:
            sql = query_file.read_text("utf-8").replace("\r\n", "\n")
            digest = hashlib.sha256(sql.encode("utf-8")).hexdigest()
            query = _parse_query(query_file, sql, problems)
            if query is not None:
                _check_query(query_file, query, parameters, output, problems)
    elif raw["kind"] == "IPE":
        problems.append(Problem(doc.at(), "an IPE needs a 'query'"))

    if len(problems) > start:
        return None
    return ItemSpec(
        id=raw["id"],
        title=raw["title"],
        kind=raw["kind"],
        control=raw["control"],
        owner=raw["owner"],
        source_systems=tuple(raw["source_systems"]),
        version=str(raw["version"]),
        description=str(raw["description"]).strip(),
        source_file=path,
        sql=sql,
        query=query,
        query_file=query_file,
        query_sha256=digest,
        parameters=parameters,
        output=output,
        critical_columns=tuple(raw.get("critical_columns") or ()),
        key=tuple(raw.get("key") or ()),
        target_values=target,
        derived_from=tuple(raw.get("derived_from") or ()),
        notes=str(raw.get("notes") or "").strip(),
        tests=rules,
    )


def _parameters(doc: _Located, raw: dict, problems: list[Problem]) -> tuple[ParameterSpec, ...]:
    out = []
    for name, spec in raw.items():
        spec = spec or {}
        where = doc.at("parameters", name)
        if name in STANDARD_PARAMETERS:
            problems.append(Problem(where, f"'{name}' is a standard parameter, bound by the engine; do not declare it"))
            continue
        ptype = spec.get("type")
        if ptype not in PARAMETER_TYPES:
            problems.append(Problem(where, f"parameter '{name}' has unknown type '{ptype}'{did_you_mean(str(ptype), PARAMETER_TYPES)}"))
            continue
        default = spec.get("default")
        if ptype == "list" and not isinstance(default, list):
            problems.append(Problem(where, f"list parameter '{name}' needs a list as default"))
            continue
        if ptype == "list":
            default = tuple(str(v) for v in default)
        out.append(ParameterSpec(name, ptype, default, str(spec.get("description", ""))))
    return tuple(out)


def _output(doc: _Located, raw: list, problems: list[Problem]) -> tuple[OutputColumn, ...]:
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or len(entry) != 1:
            problems.append(Problem(doc.at("output", i), "each output column is written 'name: type'"))
            continue
        (name, text), = entry.items()
        try:
            base, nullable = parse_type(str(text))
        except UsageError as e:
            problems.append(Problem(doc.at("output", i), f"column '{name}': {e}"))
            continue
        out.append(OutputColumn(name, base, nullable))
    return tuple(out)


def _parse_query(path: Path, sql: str, problems: list[Problem]) -> exp.Expression | None:
    try:
        statements = sqlglot.parse(sql, read=CANONICAL_DIALECT)
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        problems.append(Problem(f"{path}:{err.get('line', 1)}", f"SQL does not parse as {CANONICAL_DIALECT}: {err.get('description', e)}"))
        return None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        problems.append(Problem(f"{path}:1", "a catalog query is exactly one SELECT statement"))
        return None
    return statements[0]


def _line_of(sql: str, needle: str, node: exp.Expression | None = None) -> int:
    # The parser records where a column's or table's name token is; fall back to the first
    # whole-word occurrence (so ':cutof' is not found on a line that only has ':cutoff').
    ident = node.this if node is not None else None
    if isinstance(ident, exp.Identifier) and ident.meta.get("line"):
        return int(ident.meta["line"])
    pattern = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")
    for n, line in enumerate(sql.splitlines(), 1):
        if pattern.search(line):
            return n
    return 1


def _check_query(path: Path, query: exp.Expression, parameters, output, problems: list[Problem]) -> None:
    sql = path.read_text("utf-8")
    known_params = set(STANDARD_PARAMETERS) | {p.name for p in parameters}
    for p in query.find_all(exp.Placeholder):
        if not p.name:
            problems.append(Problem(f"{path}:{_line_of(sql, '?')}", "use named parameters (:name), not '?'"))
        elif p.name not in known_params:
            problems.append(Problem(f"{path}:{_line_of(sql, ':' + p.name)}", f"unknown parameter ':{p.name}'{did_you_mean(p.name, known_params)}"))
    ctes = {c.alias_or_name for c in query.find_all(exp.CTE)}
    logical = set(contract().names)
    columns: set[str] = set()
    unknown_table = False
    for t in query.find_all(exp.Table):
        if not t.db and t.name in ctes:
            continue
        name = f"{t.db}.{t.name}" if t.db else t.name
        if name not in logical:
            problems.append(Problem(f"{path}:{_line_of(sql, t.name, t)}", f"'{name}' is not a logical table{did_you_mean(name, logical)}"))
            unknown_table = True
            continue
        columns.update(contract().table(name).column_names)
    aliases = {a.alias for a in query.find_all(exp.Alias)} | {a.alias_or_name for a in query.find_all(exp.TableAlias)}
    # Columns of an unknown table cannot be checked; reporting each of them would bury the cause.
    for col in () if unknown_table else query.find_all(exp.Column):
        if col.name and col.name not in columns and col.name not in aliases and not isinstance(col.this, exp.Star):
            problems.append(Problem(f"{path}:{_line_of(sql, col.name, col)}", f"unknown column '{col.name}'{did_you_mean(col.name, columns)}"))
    selected = [s.alias_or_name for s in query.selects]
    declared = [c.name for c in output]
    if "*" not in selected and selected != declared:
        problems.append(Problem(f"{path}:1", f"the query selects {selected} but the item's output declares {declared}"))
    problems.extend(check_dialects(query, path, sql))
