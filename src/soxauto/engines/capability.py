"""What each engine's SQL can say: one small class of flags per dialect, and the sqlglot
rewrites that follow from the flags.

Every statement an engine sends is rendered through its class (``render.Renderer`` for queries,
``Capabilities.generate`` for the engine's own DDL and introspection), so a generated statement
(a C&A test, a tie-out, a reconciliation line, a bridge) gets the same rewrites as a catalog
query. The facts, checked against each vendor's documentation:

* **Athena** takes ``?`` execution parameters only in a WHERE clause ("Use parameterized
  queries", Considerations and limitations): a value anywhere else becomes a typed literal built
  by sqlglot. Glue names are 1-255 bytes of UTF-8.
* **SQL Server 2019** (15.x, the oldest version supported) has no ``IS [NOT] DISTINCT FROM``
  (2022), no boolean aggregates and no boolean values: a comparison may stand only where a
  search condition does (WHERE, HAVING, ON, CASE WHEN, AND/OR/NOT), and a BIT column must be
  compared to be a condition. A subquery or CTE may not have an ORDER BY without TOP or
  OFFSET (SQL gives it no meaning there), nor a WITH of its own: sqlglot lifts nested CTEs to
  the statement's WITH, where two of one name would clash (a WITH names each CTE once), so they get unique names
  first. Names are at most 128 characters, a local temporary
  table's 116. Temporary tables live in tempdb, whose collation may differ from the data
  warehouse's, so their text columns take the database's (``COLLATE DATABASE_DEFAULT``) or
  joins fail (Msg 468).

Supporting a new engine is a new class here, never a branch in an engine.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable, Mapping

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres

from ..errors import UsageError, did_you_mean

Rewrite = Callable[[exp.Expression], exp.Expression]

# Names every target has, in the shape sqlglot renders them (SQL-92 core plus the window
# functions all three share).
_CORE = frozenset({
    "ABS", "AVG", "CAST", "COALESCE", "COUNT", "DENSE_RANK", "EXISTS", "FIRST_VALUE", "FLOOR",
    "LAG", "LAST_VALUE", "LEAD", "LOWER", "MAX", "MIN", "NULLIF", "RANK", "ROUND", "ROW_NUMBER",
    "SUM", "UPPER", "CONCAT", "REPLACE", "LTRIM", "RTRIM", "TRIM", "YEAR", "MONTH", "DAY",
})

# Checked against each engine's function reference. T-SQL is held to SQL Server 2019 (15.x):
# GREATEST, LEAST and DATETRUNC arrive only in 2022, REGEXP_LIKE only in 2025, STARTS_WITH never.
FUNCTIONS: Mapping[str, frozenset[str]] = {
    "duckdb": _CORE | {
        "ANY_VALUE", "ARRAY_AGG", "BOOL_AND", "BOOL_OR", "CEIL", "CONTAINS", "COUNT_IF",
        "DATE_DIFF", "DATE_PART", "DATE_TRUNC", "EXTRACT", "GREATEST", "LAST_DAY", "LEAST",
        "LENGTH", "MAKE_DATE", "REGEXP_MATCHES", "REGEXP_REPLACE", "SPLIT_PART", "STARTS_WITH",
        "STRFTIME", "STRING_AGG", "LISTAGG", "STRPOS", "SUBSTRING", "TRY_CAST", "DATEDIFF",
        "LEFT", "RIGHT",
    },
    "trino": _CORE | {
        "ANY_VALUE", "ARBITRARY", "ARRAY_AGG", "BOOL_AND", "BOOL_OR", "CEIL", "CEILING",
        "COUNT_IF", "DATE_ADD", "DATE_DIFF", "DATE_FORMAT", "DATE_TRUNC", "DAY_OF_MONTH",
        "EXTRACT", "GREATEST", "IF", "LAST_DAY_OF_MONTH", "LEAST", "LENGTH", "LISTAGG",
        "REGEXP_LIKE", "REGEXP_REPLACE", "SPLIT_PART", "STARTS_WITH", "STRPOS", "SUBSTR",
        "SUBSTRING", "TRY", "TRY_CAST",
    },
    "tsql": _CORE | {
        "CEILING", "CHARINDEX", "CONVERT", "COUNT_BIG", "DATEADD", "DATEDIFF", "DATEFROMPARTS",
        "DATENAME", "DATEPART", "EOMONTH", "FORMAT", "GETDATE", "IIF", "ISNULL", "LEFT", "LEN", "RIGHT",
        "STRING_AGG", "SUBSTRING", "TRY_CAST", "TRY_CONVERT",
    },
}


class OdbcPostgres(Postgres):
    """PostgreSQL as ODBC sees it: the driver takes ``?`` markers, not psycopg's ``%s``."""

    class Generator(Postgres.Generator):
        def placeholder_sql(self, expression: exp.Placeholder) -> str:
            return f":{expression.name}" if expression.this else "?"


class Capabilities:
    """A dialect that can say everything the canonical (Trino) query says. Subclasses switch
    off what their engine lacks; ``rewrites`` turns the flags into sqlglot transforms."""

    name = "canonical"
    dialect: Any = "trino"  # what sqlglot's ``sql(dialect=...)`` takes
    parameters_outside_where = True  # may a bound parameter stand outside a WHERE clause?
    null_safe_comparison = True  # IS [NOT] DISTINCT FROM
    boolean_aggregates = True  # BOOL_OR, BOOL_AND
    boolean_values = True  # may a comparison stand where a value does (SELECT a = b AS same)?
    ordered_subqueries = True  # may a subquery or CTE without LIMIT have an ORDER BY?
    nested_ctes = True  # may a subquery have a WITH of its own (else sqlglot lifts it to the top)?
    temporary_text_collation: str | None = None  # collation of a temporary table's text columns
    temporary_prefix = ""  # the mark of a session temporary table's name ('#' on SQL Server)
    text_type, long_text_type = "VARCHAR", "TEXT"  # text columns of a temporary table
    max_identifier_length: int | None = None
    identifier_length_unit = "characters"  # or "bytes" (UTF-8)
    max_temporary_name_length: int | None = None
    min_server_version: int | None = None  # the oldest major version the engine supports
    version_statement: str | None = None  # the server's own description of itself, for the evidence
    server: str = ""  # the product name an error shows

    @classmethod
    def functions(cls) -> frozenset[str]:
        """Function names the dialect has, as sqlglot renders them (``FUNCTIONS``; the catalog's
        dialect check reads the same table)."""
        return FUNCTIONS.get(cls.name, frozenset())

    @classmethod
    def rewrites(cls) -> tuple[Rewrite, ...]:
        out: list[Rewrite] = []
        if not cls.null_safe_comparison:
            out.append(null_safe_comparisons)
        if not cls.boolean_aggregates:
            out.append(boolean_aggregates if cls.boolean_values else bit_aggregates)
        if not cls.boolean_values:
            out.append(conditions_and_values)
        if not cls.ordered_subqueries:
            out.append(unordered_subqueries)
        if not cls.nested_ctes:
            out.append(unique_cte_names)
        return tuple(out)

    @classmethod
    def rewrite(cls, query: exp.Expression) -> exp.Expression:
        """``query`` (the caller's own copy, changed in place) as this dialect can say it."""
        for rewrite in cls.rewrites():
            query = rewrite(query)
        cls.check_names(query)
        return query

    @classmethod
    def check_names(cls, query: exp.Expression) -> None:
        if cls.max_identifier_length is None:
            return
        for ident in query.find_all(exp.Identifier):
            size = cls.name_length(ident.name)
            if size > cls.max_identifier_length:
                raise UsageError(f"name '{ident.name}' is {size} {cls.identifier_length_unit} long; {cls.server} takes "
                                 f"at most {cls.max_identifier_length}: shorten it in the catalog, pack or binding")

    @classmethod
    def name_length(cls, name: str) -> int:
        return len(name.encode("utf-8")) if cls.identifier_length_unit == "bytes" else len(name)

    @classmethod
    def check_temporary_name(cls, name: str) -> None:
        limit = cls.max_temporary_name_length
        if limit is not None and cls.name_length(name) > limit:
            raise UsageError(f"temporary table name '{name}' is {cls.name_length(name)} {cls.identifier_length_unit} "
                             f"long; {cls.server} takes at most {limit}")

    @classmethod
    def generate(cls, statement: exp.Expression, *, pretty: bool = False) -> str:
        """The text of one of the engine's own statements (DDL, introspection): the same
        rewrites and name checks as a query, on a copy."""
        return cls.rewrite(statement.copy()).sql(dialect=cls.dialect, pretty=pretty)

    @classmethod
    def literal_placeholders(cls, query: exp.Expression) -> tuple[int, ...]:
        """Positions (in ``find_all`` order) of the placeholders this dialect cannot bind and
        that must be rendered as literals instead."""
        if cls.parameters_outside_where:
            return ()
        return tuple(k for k, p in enumerate(query.find_all(exp.Placeholder)) if p.find_ancestor(exp.Where) is None)

    @classmethod
    def literal(cls, value: Any) -> exp.Expression:
        return typed_literal(value)


class DuckDB(Capabilities):
    name = dialect = "duckdb"
    server = "DuckDB"


class Athena(Capabilities):
    """Trino as Athena engine version 3 runs it, over the Glue catalog."""

    name = dialect = "trino"
    server = "Athena"
    parameters_outside_where = False
    max_identifier_length = 255
    identifier_length_unit = "bytes"


class SqlServer(Capabilities):
    name = dialect = "tsql"
    server = "SQL Server"
    null_safe_comparison = False
    boolean_aggregates = False
    boolean_values = False
    ordered_subqueries = False
    nested_ctes = False
    temporary_text_collation = "DATABASE_DEFAULT"
    temporary_prefix = "#"
    text_type, long_text_type = "NVARCHAR", "NVARCHAR(MAX)"
    max_identifier_length = 128
    max_temporary_name_length = 116
    min_server_version = 15  # SQL Server 2019
    version_statement = "SELECT @@VERSION"


class PostgresOverOdbc(Capabilities):
    """The stand-in the SQL Server engine's ODBC tests run against (docs/sqlserver.md): the
    same driver plumbing, PostgreSQL's text. It is not SQL Server, so no version floor."""

    name = "postgres"
    dialect = OdbcPostgres()
    server = "PostgreSQL"
    max_identifier_length = 63
    identifier_length_unit = "bytes"
    max_temporary_name_length = 63


DIALECTS: Mapping[str, type[Capabilities]] = {c.name: c for c in (DuckDB, Athena, SqlServer, PostgresOverOdbc)}


def capabilities(dialect: str | type[Capabilities]) -> type[Capabilities]:
    if isinstance(dialect, type) and issubclass(dialect, Capabilities):
        return dialect
    found = DIALECTS.get(str(dialect))
    if found is None:
        raise UsageError(f"no engine speaks the SQL dialect '{dialect}'{did_you_mean(str(dialect), DIALECTS)}")
    return found


# -- literals ---------------------------------------------------------------------------------


def typed_literal(value: Any) -> exp.Expression:
    """``value`` as a SQL literal of its exact type, built by sqlglot (which quotes it): a
    string, an integer, a boolean, NULL, ``CAST('2025-09-30' AS DATE)``,
    ``CAST('2025-10-01 02:00:00.000000' AS TIMESTAMP(6))``, ``CAST('-1500.10' AS DECIMAL(6, 2))``."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):  # before int: bool is an int in Python
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise UsageError(f"parameter value {value.isoformat()} has a time zone; the lake's timestamps have none")
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ", timespec="microseconds")),
                        exp.DataType.build("TIMESTAMP(6)"))
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise UsageError(f"parameter value {value!r} of type {type(value).__name__} cannot be written as a literal; "
                     "use a string, integer, Decimal, date, datetime or boolean")


def _decimal(value: Decimal) -> exp.Expression:
    if not value.is_finite():
        raise UsageError(f"parameter value {value} is not a finite decimal")
    text = format(value, "f")
    whole, _, fraction = text.lstrip("-").partition(".")
    precision = max(len(whole.lstrip("0")) + len(fraction), 1)
    if precision > 38:
        raise UsageError(f"parameter value {value} has {precision} digits; a DECIMAL holds at most 38")
    kind = exp.DataType(this=exp.DataType.Type.DECIMAL, expressions=[
        exp.DataTypeParam(this=exp.Literal.number(precision)), exp.DataTypeParam(this=exp.Literal.number(len(fraction)))])
    return exp.cast(exp.Literal.string(text), kind)


# -- rewrites ---------------------------------------------------------------------------------

_LOGIC = (exp.Predicate, exp.Connector, exp.Not, exp.Boolean)


def is_condition(node: exp.Expression) -> bool:
    """A truth value by its form: a comparison, AND/OR/NOT, TRUE or FALSE (in parentheses, or a
    LIKE with its ESCAPE, or not)."""
    while isinstance(node, (exp.Paren, exp.Escape)):
        node = node.this
    return isinstance(node, _LOGIC)


def in_condition_position(node: exp.Expression) -> bool:
    """Does ``node`` stand where SQL Server wants a search condition rather than a value?"""
    child, parent = node, node.parent
    while _wraps(parent, child):
        child, parent = parent, parent.parent
    if isinstance(parent, (exp.Where, exp.Having, exp.Qualify, exp.Connector, exp.Not)):
        return True
    if isinstance(parent, exp.Join):
        return child.arg_key == "on"
    if isinstance(parent, exp.If):  # CASE WHEN <condition>, or IF(<condition>, ...); not CASE x WHEN <value>
        simple = isinstance(parent.parent, exp.Case) and parent.parent.args.get("this") is not None
        return child.arg_key == "this" and not simple
    return False


def _wraps(parent: exp.Expression | None, child: exp.Expression) -> bool:
    # Parentheses, and LIKE's ESCAPE clause around its LIKE, leave a condition a condition.
    return isinstance(parent, exp.Paren) or (isinstance(parent, exp.Escape) and child.arg_key == "this")


def null_safe_comparisons(query: exp.Expression) -> exp.Expression:
    """``a IS DISTINCT FROM b`` as ``NOT EXISTS (SELECT a INTERSECT SELECT b)``: INTERSECT
    compares NULLs as equal, and each side is written once. A side holding an aggregate or a
    window cannot move into a subquery; it is compared in the long form instead."""

    def swap(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, (exp.NullSafeEQ, exp.NullSafeNEQ)):
            return node
        a, b = node.this, node.expression
        if any(n.find(exp.AggFunc, exp.Window) for n in (a, b)):
            same = exp.or_(exp.EQ(this=a.copy(), expression=b.copy()),
                           exp.and_(exp.Is(this=a.copy(), expression=exp.null()),
                                    exp.Is(this=b.copy(), expression=exp.null())))
            same = exp.paren(same, copy=False)
        else:
            same = exp.Exists(this=exp.intersect(exp.select(a.copy()), exp.select(b.copy()), distinct=True))
        return same if isinstance(node, exp.NullSafeEQ) else exp.Not(this=same)

    return query.transform(swap, copy=False)


def _flag(x: exp.Expression) -> exp.Expression:
    # 1 for TRUE, 0 for FALSE, NULL for NULL: MAX and MIN then skip NULLs as BOOL_OR and BOOL_AND do.
    return exp.Case(ifs=[exp.If(this=x.copy(), true=exp.Literal.number(1)),
                         exp.If(this=exp.Not(this=exp.paren(x.copy(), copy=False)), true=exp.Literal.number(0))])


def _aggregates(query: exp.Expression, as_value: bool) -> exp.Expression:
    def swap(node: exp.Expression) -> exp.Expression:
        inner = node.this if isinstance(node, exp.Window) else node
        if not isinstance(inner, (exp.LogicalOr, exp.LogicalAnd)):
            return node
        agg = (exp.Max if isinstance(inner, exp.LogicalOr) else exp.Min)(this=_flag(inner.this))
        if isinstance(node, exp.Window):
            node.set("this", agg)
            agg = node
        if as_value and not in_condition_position(node):
            return exp.cast(agg, exp.DataType.build("BOOLEAN"))
        return exp.EQ(this=agg, expression=exp.Literal.number(1))

    return query.transform(swap, copy=False)


def boolean_aggregates(query: exp.Expression) -> exp.Expression:
    """``BOOL_OR(x)`` as ``MAX(CASE WHEN x THEN 1 WHEN NOT x THEN 0 END) = 1``, ``BOOL_AND``
    with MIN."""
    return _aggregates(query, as_value=False)


def bit_aggregates(query: exp.Expression) -> exp.Expression:
    """As ``boolean_aggregates`` for a dialect without boolean values: where a value is wanted
    the 0/1 aggregate is cast to the boolean type (SQL Server's BIT) instead of compared."""
    return _aggregates(query, as_value=True)


def conditions_and_values(query: exp.Expression) -> exp.Expression:
    """SQL Server keeps truth values and values apart. A condition where a value is wanted
    becomes ``CAST(CASE WHEN c THEN 1 WHEN NOT c THEN 0 END AS BIT)`` (NULL stays NULL), TRUE
    and FALSE become ``CAST(1 AS BIT)`` and ``CAST(0 AS BIT)``; a value where a condition is
    wanted (a BIT column) is compared: ``flag <> 0``."""
    # Innermost first: a condition copied into a CASE is already rewritten inside.
    for node in reversed(list(query.walk(bfs=False))):
        if node is query or node.parent is None or isinstance(node, exp.Paren):
            continue  # parentheses are judged by what they hold
        if isinstance(node.parent, exp.Escape) and node.arg_key == "this":
            continue  # a LIKE is judged with its ESCAPE clause, as one condition
        condition, wanted = is_condition(node), in_condition_position(node)
        if condition and not wanted:
            if isinstance(node, exp.Boolean):
                if not isinstance(node.parent, exp.Is):  # x IS TRUE: the generator writes x = 1
                    node.replace(exp.cast(exp.Literal.number(1 if node.this else 0), exp.DataType.build("BOOLEAN")))
                continue
            case = exp.Case(ifs=[exp.If(this=node.copy(), true=exp.Literal.number(1)),
                                 exp.If(this=exp.Not(this=exp.paren(node.copy(), copy=False)),
                                        true=exp.Literal.number(0))])
            node.replace(exp.cast(case, exp.DataType.build("BOOLEAN")))
        elif wanted and not condition:
            node.replace(exp.NEQ(this=node.copy(), expression=exp.Literal.number(0)))
    return query


def unordered_subqueries(query: exp.Expression) -> exp.Expression:
    """Drop the ORDER BY of a subquery or CTE that has no LIMIT or OFFSET: it orders nothing
    the outer statement can see, and SQL Server refuses it (the statement's own ORDER BY stays)."""
    for node in list(query.find_all(exp.Query)):
        if node is query or not node.args.get("order"):
            continue
        if any(node.args.get(k) for k in ("limit", "offset", "fetch")):
            continue
        node.set("order", None)
    return query


def unique_cte_names(query: exp.Expression) -> exp.Expression:
    """Give every CTE of a nested WITH a name no other CTE of the statement has (``l`` becomes
    ``l_2``), renaming the tables that read it in its scope (a reference without an alias keeps
    the old name as its alias, so qualified columns still resolve). SQL Server takes a WITH only
    at the top of a statement: sqlglot lifts the nested ones there, and the C&A statement that
    merges several comparisons, each with its own ``WITH l AS ..., r AS ...``, would otherwise
    name ``l`` twice."""
    seen = {cte.alias for cte in _ctes(query)}
    for owner in list(query.find_all(exp.Query)):
        if owner is query:
            continue
        for cte in _ctes(owner):
            old = cte.alias
            if old not in seen:
                seen.add(old)
                continue
            n = 2
            while f"{old}_{n}" in seen:
                n += 1
            new = f"{old}_{n}"
            seen.add(new)
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(new)))
            _rename_reads(owner, old, new)
    return query


def _ctes(query: exp.Expression) -> list[exp.CTE]:
    with_ = query.args.get("with_") or query.args.get("with")  # the key's name differs between sqlglot versions
    return list(with_.expressions) if with_ is not None else []


def _rename_reads(owner: exp.Expression, old: str, new: str) -> None:
    for table in list(owner.find_all(exp.Table)):
        if table.name != old or table.args.get("db") is not None or table.args.get("catalog") is not None:
            continue
        # a deeper query with its own CTE of that name shadows this one
        scope = table.parent
        shadowed = False
        while scope is not None and scope is not owner:
            if isinstance(scope, exp.Query) and any(c.alias == old for c in _ctes(scope)):
                shadowed = True
                break
            scope = scope.parent
        if shadowed:
            continue
        if not table.alias:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(old)))
        table.set("this", exp.to_identifier(new))
