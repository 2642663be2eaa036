"""Every statement a period's close generates, as Athena and SQL Server would receive it.

The statement corpus (``engines.corpus``, the same collection ``soxauto sql render`` writes)
runs one entity's close on DuckDB over a small generated lake: the period and scope checks, the
extract of every catalog item and its C&A tests (cross-source tie-outs included), the
reconciliation with its classification, tagging and review lists, every line's bridge-overlap
query and CR_03/CR_04 tie-out (the lake carries the ``gl_tie_out`` defect). While the extracts
each statement reads are registered, it is rendered again for Athena (Trino) and SQL Server 2019
(T-SQL) by the ``Renderer`` those engines use, and:

* the rendering keeps to its dialect's capability table (``engines.lint``: it parses into one
  statement, calls only functions the dialect has; Athena: every ``?`` in a WHERE clause; SQL
  Server: nothing 2019 lacks, conditions and values apart, no ORDER BY in a subquery without TOP);
* the rendering parsed back, its ``?`` replaced by the bound values and transpiled to DuckDB by
  sqlglot, returns exactly the rows of the native DuckDB statement. A line's overlap query runs on
  its key rows doctored so that every row is claimed twice, so that it has rows to compare.

sqlglot's transpilation is the referee of the last check: it shows that the rewrites keep the
meaning. That SQL Server and Athena accept the text is shown by the grammar checks only: no such
server runs here (docs/engines.md lists what to verify on first deployment).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from lakekit import generated
from sqlglot import exp

from soxauto.engines.capability import Athena, SqlServer, typed_literal
from soxauto.engines.corpus import Recorder, Statement, collect
from soxauto.engines.lint import problems as grammar
from soxauto.engines.render import Renderer
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

PERIOD, ENTITY = Period(2025, 9), "EC_NG"
GOLDEN_CORPUS = Path(__file__).resolve().parent / "golden" / "corpus"
DIALECTS = (SqlServer, Athena)
# The lake every statement corpus test reads (tests/engines/test_corpus.py writes its golden
# files from the same one).
LAKE = {"scale": 0.01, "seed": 7, "first_period": PERIOD, "periods": 1, "defects": ("gl_tie_out",)}


@dataclass(frozen=True)
class Checked:
    stem: str
    dialect: str
    sql: str
    literals: tuple
    problems: tuple[str, ...]


class Shadow:
    """The check run on each statement of the corpus while its extracts are registered."""

    def __init__(self):
        self.renderers = {c.name: Renderer(c, None, None, positional=True) for c in DIALECTS}
        self.checked: list[Checked] = []

    def __call__(self, engine: Recorder, statement: Statement) -> None:
        if statement.what.endswith("_overlap"):
            with doctored(engine, statement.query):
                self.shadow(engine, statement)
        else:
            self.shadow(engine, statement)

    def shadow(self, engine: Recorder, statement: Statement) -> None:
        # Problems are recorded, never raised: the product records a failing C&A statement as an
        # errored test, which would hide an exception thrown here.
        query, params = statement.query, statement.parameters
        sql, bound = engine.render(query, params)
        native = Counter(engine.fetch(sql, bound))
        for name, renderer in self.renderers.items():
            try:
                rendered = renderer.rendered(query, params)
            except Exception as e:  # noqa: BLE001 - reported with the statement
                self.checked.append(Checked(statement.stem, name, sql, (), (f"cannot render: {e}",)))
                continue
            found = grammar(name, rendered.sql)
            if not found:
                try:
                    back = Counter(engine.fetch(to_duckdb(rendered.sql, name, rendered.parameters)))
                except Exception as e:  # noqa: BLE001
                    found.append(f"does not run back on DuckDB: {e}")
                else:
                    if back != native:
                        found.append(f"rows differ: missing {dict(native - back)}, extra {dict(back - native)}")
            self.checked.append(Checked(statement.stem, name, rendered.sql, rendered.literals, tuple(found)))


class doctored:
    """The key rows a line's overlap query reads, registered again with every row claimed twice
    (the overlap query then returns rows to compare), and put back afterwards."""

    def __init__(self, engine: Recorder, query: exp.Expression):
        self.engine, self.name = engine, next(t.name for t in query.find_all(exp.Table))

    def __enter__(self):
        keys = self.engine._con.table(self.name).to_arrow_table()
        self.original = keys
        claims = pa.array([2] * keys.num_rows, keys.schema.field("claims").type)
        self.engine._con.register(self.name, keys.set_column(keys.schema.get_field_index("claims"), "claims", claims))

    def __exit__(self, *exc):
        self.engine._con.register(self.name, self.original)


def to_duckdb(text: str, dialect: str, values: list) -> str:
    """``text`` parsed in ``dialect``, each ``?`` (in text order) replaced by its value's typed
    literal, written for DuckDB. T-SQL's BIT is read as BOOLEAN: sqlglot would write DuckDB's
    bit-string type, which is another thing."""
    tree = sqlglot.parse_one(text, read=dialect)
    nodes = list(tree.find_all(exp.Placeholder))
    for k, node in enumerate(nodes):
        node.set("this", f"__p{k}__")
    order = [int(m) for m in re.findall(r"__p(\d+)__", tree.sql(dialect=dialect))]
    assert sorted(order) == list(range(len(values))), (order, values)
    for k, value in zip(order, values):
        nodes[k].replace(typed_literal(value))
    bit = exp.DataType.build("BIT", dialect="tsql").this
    for node in list(tree.find_all(exp.DataType)):
        if node.this == bit:
            node.replace(exp.DataType.build("BOOLEAN"))
    return tree.sql(dialect="duckdb")


@pytest.fixture(scope="module")
def corpus_and_checks(tmp_path_factory):
    root = generated(tmp_path_factory.mktemp("lake"), **LAKE)
    shadow = Shadow()
    corpus = collect(lake_binding(root), str(PERIOD), ENTITY, check=shadow)
    return corpus, shadow.checked


@pytest.fixture(scope="module")
def checked(corpus_and_checks) -> list[Checked]:
    return corpus_and_checks[1]


def test_every_generated_statement_renders_for_athena_and_sql_server_and_means_the_same(checked):
    failing = [f"--- {c.dialect}: {'; '.join(c.problems)}\n{c.sql}" for c in checked if c.problems]
    assert not failing, f"{len(failing)} of {len(checked)} renderings fail:\n" + "\n".join(failing[:5])


def test_the_run_reaches_every_kind_of_generated_statement(checked):
    tsql = [c.sql for c in checked if c.dialect == "tsql"]
    trino = [c for c in checked if c.dialect == "trino"]
    assert len(tsql) == len(trino) > 60
    flat = [" ".join(t.split()) for t in tsql]
    assert any("INTERSECT" in t and "r0_failing" in t for t in flat)  # a cross-source tie-out's IS DISTINCT FROM
    assert any("CAST(MAX(CASE WHEN is_expired <> 0 THEN 1" in t for t in flat)  # VOUCHERS' BOOL_OR
    assert any("COALESCE(b.gl_account_no, e.gl_account_no) AS gl_account_no" in t for t in flat)  # the tie-out
    assert any(t.startswith("SELECT TOP 20 item_key, delta") for t in flat)  # a bridge overlap
    assert any("classified" in t for t in flat) and any("rule_id" in t for t in flat)
    # the Athena literal path: the period check, CR_03's integration user, IPE_08's TV uses ...
    inlined = {name for c in trino for name, _ in c.literals}
    assert {"cutoff", "integration_user", "material_lcy"} <= inlined
    assert any(name.startswith("tv_business_uses__") for name in inlined)


def test_every_statement_of_the_corpus_is_checked_in_both_dialects_and_the_command_writes_the_same(corpus_and_checks):
    """One source of truth: the statements checked here are those ``soxauto sql render`` writes,
    whose output tests/engines/test_corpus.py compares with the golden corpus."""
    corpus, checked = corpus_and_checks
    stems = [s.stem for s in corpus.statements]
    assert [c.stem for c in checked if c.dialect == "tsql"] == stems == [c.stem for c in checked if c.dialect == "trino"]
    for dialect in ("duckdb", "trino", "tsql"):
        golden = sorted(p.name.removesuffix(".sql") for p in (GOLDEN_CORPUS / dialect).glob("*.sql"))
        assert golden == stems, f"tests/engines/golden/corpus/{dialect} is not this corpus: pytest --update-golden"
    conditional = {s.what for s in corpus.statements if s.conditional}
    assert {"reconcile_vouchers_overlap", "reconcile_vouchers_tie_out"} <= conditional


def test_the_checks_catch_what_sql_server_2019_and_athena_refuse():
    """The referee itself: renderings as they were before the capability table fail it."""
    assert grammar("tsql", "SELECT LOGICAL_OR(a) AS x FROM t") == [
        "functions tsql does not have: ['LOGICAL_OR']", "SQL Server 2019 lacks LOGICAL_OR("]
    assert grammar("tsql", "SELECT 1 AS x FROM t WHERE a IS DISTINCT FROM b") == [
        "SQL Server 2019 lacks IS DISTINCT FROM"]
    assert grammar("tsql", "SELECT a = b AS same FROM (SELECT a FROM t ORDER BY a) AS s WHERE (f)") == [
        "condition where T-SQL wants a value: a = b AS same",
        "ORDER BY in a subquery without TOP: SELECT a FROM t ORDER BY a",
        "value where T-SQL wants a condition: WHERE (f)"]
    assert grammar("trino", "SELECT CASE WHEN a = ? THEN 1 END AS x FROM t WHERE b = ?") == [
        "'?' outside WHERE: ['a = ?']"]
    assert to_duckdb("SELECT ? AS a, CAST(? AS BIT) AS b FROM t WHERE c = ?", "tsql", ["x", 1, date(2025, 9, 30)]) == \
        "SELECT 'x' AS a, CAST(1 AS BOOLEAN) AS b FROM t WHERE c = CAST('2025-09-30' AS DATE)"
