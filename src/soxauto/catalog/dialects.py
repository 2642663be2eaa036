"""Dialect safety: every function of a catalog query must exist in every target dialect.

sqlglot translates what it knows and passes the rest through unchanged: ``REGEXP_LIKE`` or
``STARTS_WITH`` come out verbatim in T-SQL, and a function it does not know at all
(``exp.Anonymous``) goes to every dialect as written. Both would fail only when the query runs
on that engine, in closing week. So each function node of the canonical query is rendered on
its own in each target dialect, as the engines' ``Renderer`` renders it (the capability
rewrites included: ``BOOL_OR`` reaches SQL Server 2019 as ``MAX(CASE ...)``), and the names
it renders as are looked up in the table of what that dialect really has
(``engines.capability.FUNCTIONS``). The tables are data: supporting a new function or a new
dialect is a table edit, never a branch in the code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from ..engines.capability import FUNCTIONS
from ..engines.render import rewritten
from ..errors import Problem

DIALECTS = ("duckdb", "trino", "tsql")

# What each target dialect can call is a capability of its engine (engines/capability.py):
# the catalog is checked against the same table the engines render with.
CAPABILITIES = FUNCTIONS

# How to say the same thing portably, by the canonical (Trino) name.
HINTS: Mapping[str, str] = {
    "REGEXP_LIKE": "use LIKE with a literal pattern",
    "STARTS_WITH": "use LIKE 'prefix%'",
    "DATE_TRUNC": "compare with :period_start / :year_start / :as_of instead",
    "GREATEST": "use a CASE expression",
    "LEAST": "use a CASE expression",
    "SPLIT_PART": "use SUBSTR and STRPOS",
}
_DEFAULT_HINT = "rewrite it with functions every target dialect has"

# A catalog query depends on its parameters only: re-running a period must give the same data.
CLOCK = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.CurrentDatetime)

_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(")
_STRING = re.compile(r"'(?:[^']|'')*'")


def check_dialects(query: exp.Expression, path: Path | str, sql: str | None = None,
                   dialects: Iterable[str] = DIALECTS) -> list[Problem]:
    """Every function of ``query`` that some dialect in ``dialects`` cannot run, located.

    The answer depends only on the query, its text (for line numbers), the path and the
    dialects, so it is kept per process: every load of the catalog and the pack (each close,
    each worker, each command of the service) would otherwise render every query once per
    dialect again, about a second a load."""
    sql = sql if sql is not None else Path(path).read_text("utf-8")
    key = (query.sql(dialect="trino"), str(path), sql, tuple(dialects))
    found = _CHECKED.get(key)
    if found is None:
        if len(_CHECKED) >= 4096:  # a long-lived service re-reading edited packs stays bounded
            _CHECKED.clear()
        found = _CHECKED[key] = tuple(_check_dialects(query, str(path), sql, key[3]))
    return list(found)


_CHECKED: dict[tuple[str, str, str, tuple[str, ...]], tuple[Problem, ...]] = {}


def _check_dialects(query: exp.Expression, path: str, sql: str, dialects: tuple[str, ...]) -> list[Problem]:
    problems: dict[tuple, Problem] = {}
    nodes = [n for n in query.walk() if isinstance(n, exp.Func) and not _structural(n)]
    for node in nodes:
        if isinstance(node, CLOCK):
            line = _line(node, sql)
            problems.setdefault(("clock", line), Problem(
                f"{path}:{line}", f"{canonical_name(node)} reads the clock, so a re-run would differ; "
                "use :cutoff, :as_of or :period_start"))
        if isinstance(node, exp.Anonymous):
            name = node.name.upper()
            problems.setdefault(("anon", name, _line(node, sql)), Problem(
                f"{path}:{_line(node, sql)}",
                f"unknown function {name}: sqlglot cannot translate it; {HINTS.get(name, _DEFAULT_HINT)}"))
    for dialect in dialects:
        if not problems and _renders_cleanly(query, dialect):
            continue  # nothing to locate: the node-by-node pass below would find nothing either
        failed: set[int] = set()
        # Descendants first: an untranslatable node is reported once, not again by its parents.
        for node in reversed(nodes):
            if isinstance(node, exp.Anonymous) or any(id(d) in failed for d in _opaque_children(node)):
                failed.add(id(node))
                continue
            problem = _check_node(node, dialect, path, sql)
            if problem is not None:
                failed.add(id(node))
                problems.setdefault((dialect, problem.where, problem.message), problem)
        if not failed:
            # Constructs that are not functions (clauses, operators) can be untranslatable too.
            try:
                _render(query, dialect)
            except UnsupportedError as e:
                problems[(dialect, "query")] = Problem(f"{path}:1", f"the query cannot be rendered in {dialect}: {e}")
    return sorted(problems.values(), key=lambda p: (_line_number(p.where), p.message))


def _renders_cleanly(query: exp.Expression, dialect: str) -> bool:
    """The whole query renders in ``dialect`` calling only names the dialect has: one rendering
    instead of three per function, for the common case of a portable query."""
    try:
        text = _render(query, dialect)
    except UnsupportedError:
        return False
    return all(name in CAPABILITIES[dialect] for name in _calls(text))


def _check_node(node: exp.Func, dialect: str, path, sql: str) -> Problem | None:
    name = canonical_name(node)
    where = f"{path}:{_line(node, sql)}"
    hint = HINTS.get(name, _DEFAULT_HINT)
    try:
        text = _render(node, dialect)
    except UnsupportedError as e:
        return Problem(where, f"{name} cannot be rendered in {dialect}: {e}; {hint}")
    unknown = [n for n in own_calls(node, dialect) if n not in CAPABILITIES[dialect]]
    if not unknown:
        return None
    lead = _calls(text)
    rendered = lead[0] if lead and lead[0] in unknown else unknown[0]
    return Problem(where, f"{name} is not available in {dialect} (rendered as {rendered}); "
                          f"{hint}, or add a dialect rule")


def canonical_name(node: exp.Func) -> str:
    """The name a function is written with in the canonical (Trino) query."""
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    try:
        text = _render(node, "trino")
    except UnsupportedError:
        return node.key.upper()
    calls = _calls(text)
    if calls:
        return calls[0]
    word = re.match(r"[A-Za-z_]+", text)
    return word.group(0).upper() if word else node.key.upper()


def own_calls(node: exp.Func, dialect: str) -> list[str]:
    """Call names ``node`` renders as in ``dialect``, leaving out those of its arguments.

    A name that an argument renders too is the argument's to answer for: a dialect may repeat
    an argument (DuckDB's LEAST wraps it in a NULL test), and the argument is checked anyway.
    """
    names = set(_calls(_render(node, dialect)))
    for child in _opaque_children(node):
        names -= set(_calls(_render(child, dialect)))
    return sorted(names)


def _render(node: exp.Expression, dialect: str) -> str:
    """``node`` as the engine of ``dialect`` says it: after the capability rewrites the
    ``Renderer`` applies (SQL Server 2019 gets BOOL_OR as MAX over a CASE, IS DISTINCT FROM as
    NOT EXISTS ... INTERSECT), so a function the rendering rewrites away is not refused."""
    return rewritten(node, dialect, check_names=False).sql(dialect=dialect, unsupported_level=ErrorLevel.RAISE)


def _calls(text: str) -> list[str]:
    return [m.group(1).upper() for m in _CALL.finditer(_STRING.sub("''", text))]


def _opaque_children(node: exp.Expression) -> list[exp.Expression]:
    """The nearest function and type nodes below ``node``: their names are their own."""
    out: list[exp.Expression] = []
    stack = list(_children(node))
    while stack:
        child = stack.pop()
        if isinstance(child, (exp.Func, exp.DataType)):
            out.append(child)
        else:
            stack.extend(_children(child))
    return out


def _children(node: exp.Expression) -> Iterable[exp.Expression]:
    for value in node.args.values():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, exp.Expression):
                yield v


def _structural(node: exp.Func) -> bool:
    # AND/OR are operators in every dialect. A CASE branch is an exp.If node: alone it would
    # render as IF/IIF, which the CASE never emits.
    return isinstance(node, exp.Connector) or (isinstance(node, exp.If) and isinstance(node.parent, exp.Case))


def _line(node: exp.Expression, sql: str) -> int:
    """The line of the function's name token, else the first line of its arguments."""
    own = node.meta.get("line") if node.meta else None
    lines = [int(n.meta["line"]) for n in node.walk() if n.meta and n.meta.get("line")]
    if own or lines:
        return int(own) if own else min(lines)
    name = canonical_name(node) if isinstance(node, exp.Func) else ""
    for number, text in enumerate(sql.splitlines(), 1):
        if name and name in text.upper():
            return number
    return 1


def _line_number(where: str) -> int:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
