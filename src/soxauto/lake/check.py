"""``soxauto lake check``: does a lake satisfy the source contract?

Every one of the 17 logical tables is checked through its binding: the folder holds Parquet or
CSV files; every contract column is in every file; its physical type satisfies the logical type
(Parquet: the file schema; CSV: every value must parse as the contract type); no NULL sits in a
NOT NULL column. All problems are collected and raised once, each naming table, column and file.

It has to stay fast on a lake of millions of rows, so Parquet schemas come from the file footers
(``pyarrow.parquet.read_schema``) and the values are read in one aggregate DuckDB query per table,
grouped by file, with one counter per column that needs one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from ..errors import LakeContractError, Problem, UsageError, did_you_mean
from .binding import Binding, TableBinding, lake_binding
from .contract import ColumnSpec, TableSpec, contract

# The name DuckDB gives the source-file column; unlikely to collide with a physical column.
_FILE = "__soxauto_file"
# A timestamp text ending in a UTC offset: the contract's ts has no time zone.
_TZ_SUFFIX = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
# Types whose CSV text must cast without rounding (money, rates, integers).
_EXACT = ("money", "rate", "int")


@dataclass(frozen=True)
class TableReport:
    table: str
    location: str
    format: str
    files: tuple[str, ...]
    rows: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LakeReport:
    location: str
    tables: tuple[TableReport, ...]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def files(self) -> int:
        return sum(len(t.files) for t in self.tables)

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(f"{t.table}: {n}" for t in self.tables for n in t.notes)


def check_lake(lake: str | Path | None = None, binding: Binding | None = None) -> LakeReport:
    """Check a lake folder (default layout) or the lake a binding points at; raise
    ``LakeContractError`` listing every problem, or return what was found."""
    if binding is None:
        if lake is None:
            raise UsageError("check_lake needs a lake folder or a binding")
        if not Path(lake).is_dir():
            raise LakeContractError(f"{lake}: the lake folder does not exist; give <lake> with <schema>/<table> folders")
        binding = lake_binding(lake)
    if binding.engine != "duckdb":
        raise UsageError(
            f"binding '{binding.name}' is for engine '{binding.engine}'; "
            "lake check reads folders of files (a duckdb binding)"
        )
    problems: list[Problem] = []
    reports: list[TableReport] = []
    con = duckdb.connect(":memory:")
    try:
        for spec in contract().tables:
            report = _check_table(con, spec, binding.table(spec.qualified), problems)
            if report is not None:
                reports.append(report)
    finally:
        con.close()
    where = str(lake) if lake is not None else binding.name
    if problems:
        raise LakeContractError(
            f"{where} breaks the source contract ({len(problems)} problem(s))", problems
        )
    return LakeReport(where, tuple(reports))


def _check_table(con, spec: TableSpec, tb: TableBinding, problems: list[Problem]) -> TableReport | None:
    found = _files(spec, tb, problems)
    if found is None:
        return None
    fmt, files = found
    columns = {}
    for f in files:
        try:
            columns[f] = _parquet_columns(f) if fmt == "parquet" else _csv_columns(con, f)
        except (pa.ArrowException, OSError, duckdb.Error) as e:
            problems.append(Problem(f"{spec.qualified} in {f}", f"the file cannot be read as {fmt}: {e}"))
    if len(columns) < len(files):
        return None
    notes: list[str] = []
    for f, cols in columns.items():
        _check_columns(spec, tb, f, cols, problems, notes)
    # Only columns every file has can be counted in one query; the others are reported above.
    present = [c for c in spec.columns if all(tb.physical_column(c.name) in cols for cols in columns.values())]
    query, counters = _aggregate(tb, fmt, files, present)
    try:
        rows = con.sql(query.sql(dialect="duckdb")).fetchall()
    except duckdb.Error as e:
        problems.append(Problem(f"{spec.qualified} in {tb.location}", f"its {fmt} files cannot be read together: {e}"))
        return None
    total = 0
    for row in rows:
        f, n_rows, values = row[0], row[1], row[2:]
        total += n_rows
        for (kind, col), value, example in zip(counters, values[::2], values[1::2]):
            if value:
                problems.append(_value_problem(spec, tb, f, kind, col, value, example))
    return TableReport(spec.qualified, tb.location, fmt, tuple(str(f) for f in files), total, tuple(notes))


def _files(spec: TableSpec, tb: TableBinding, problems: list[Problem]) -> tuple[str, list[Path]] | None:
    folder = Path(tb.location)
    where = f"{spec.qualified} in {folder}"
    if not folder.is_dir():
        problems.append(Problem(where, "the table's folder does not exist; create it with the table's Parquet or CSV files"))
        return None
    formats = [tb.format] if tb.format else ["parquet", "csv"]
    for fmt in formats:
        files = sorted(folder.glob(f"*.{fmt}"))
        if files:
            return fmt, files
    problems.append(Problem(where, f"the folder holds no {' or '.join('.' + f for f in formats)} file"))
    return None


def _parquet_columns(path: Path) -> dict[str, pa.DataType]:
    schema = pq.read_schema(path)
    return {name: schema.field(name).type for name in schema.names}


def _csv_columns(con, path: Path) -> dict[str, None]:
    """The header of one CSV file (its types are checked value by value, not here)."""
    source = _reader("csv", [path], file_column=False)
    names = con.sql(exp.select("*").from_(source).limit(0).sql(dialect="duckdb")).columns
    return {name: None for name in names}


def _check_columns(spec, tb, path, cols, problems, notes) -> None:
    expected = {tb.physical_column(c.name) for c in spec.columns}
    for c in spec.columns:
        phys = tb.physical_column(c.name)
        where = f"{spec.qualified}.{c.name} in {path}"
        named = f"column '{c.name}'" + (f" (physical '{phys}')" if phys != c.name else "")
        if phys not in cols:
            hint = did_you_mean(phys, cols) or _case_hint(phys, cols)
            problems.append(Problem(where, f"{named} is missing{hint}"))
        elif cols[phys] is not None and not c.accepts(cols[phys]):
            problems.append(Problem(where, f"{named} is {cols[phys]}, but the contract wants {_wanted(c)}"))
    extra = [name for name in cols if name not in expected]
    if extra:
        notes.append(f"{path.name}: extra column(s) {', '.join(extra)} (allowed, not read)")


def _case_hint(name: str, choices) -> str:
    for c in choices:
        if c.lower() == name.lower():
            return f"; did you mean '{c}'?"
    return ""


def _wanted(c: ColumnSpec) -> str:
    extra = {"ts": " without time zone (UTC)", "money": " (decimal128(18, 2))", "rate": " (decimal128(18, 6))"}
    return f"{c.type}: {c.sql_type}{extra.get(c.type, '')}"


def _reader(fmt: str, files: list[Path], *, file_column: bool = True) -> exp.Table:
    args: list[exp.Expression] = [exp.Array(expressions=[exp.Literal.string(str(f)) for f in files])]
    if file_column:
        args += [_named("filename", exp.Literal.string(_FILE)), _named("union_by_name", exp.true())]
    if fmt == "csv":
        # Every value is read as text so that one bad value is reported, not a failed read.
        args += [_named("header", exp.true()), _named("all_varchar", exp.true())]
    return exp.Table(this=exp.Anonymous(this=f"read_{fmt}", expressions=args))


def _named(name: str, value: exp.Expression) -> exp.Expression:
    return exp.EQ(this=exp.column(name), expression=value)


def _aggregate(tb: TableBinding, fmt: str, files: list[Path], present: list[ColumnSpec]):
    """One query: per file, its row count, then (count, example) per counter."""
    counters: list[tuple[str, ColumnSpec]] = []
    selects: list[exp.Expression] = [exp.column(_FILE, quoted=True), exp.Count(this=exp.Star()).as_("n_rows")]
    for c in present:
        col = exp.column(tb.physical_column(c.name), quoted=True)
        conditions = []
        if not c.nullable:
            conditions.append(("null", exp.Is(this=col.copy(), expression=exp.Null())))
        if fmt == "csv":
            conditions.append(("parse", exp.and_(exp.Not(this=exp.Is(this=col.copy(), expression=exp.Null())), _unparsable(c, col))))
        for kind, cond in conditions:
            i = len(counters)
            counters.append((kind, c))
            one = exp.case().when(cond, exp.Literal.number(1)).else_(exp.Literal.number(0))
            selects.append(exp.Sum(this=one).as_(f"n{i}"))
            selects.append(exp.Min(this=exp.case().when(cond.copy(), exp.Cast(this=col.copy(), to=exp.DataType.build("VARCHAR")))).as_(f"e{i}"))
    query = exp.select(*selects).from_(_reader(fmt, files)).group_by(exp.column(_FILE, quoted=True)).order_by(exp.column(_FILE, quoted=True))
    return query, counters


def _unparsable(c: ColumnSpec, col: exp.Expression) -> exp.Expression:
    """True for a text value that is not a value of the logical type (or would be changed)."""
    typed = exp.TryCast(this=col.copy(), to=exp.DataType.build(c.sql_type))
    bad: exp.Expression = exp.Is(this=typed, expression=exp.Null())
    if c.type in _EXACT:
        # DuckDB rounds '12.345' to DECIMAL(18,2) and '1.5' to BIGINT: compare with a wide cast.
        wide = exp.TryCast(this=col.copy(), to=exp.DataType.build("DECIMAL(38, 10)"))
        bad = exp.or_(bad, exp.NullSafeNEQ(this=wide, expression=typed.copy()))
    if c.type == "ts":
        # DuckDB drops a UTC offset silently when casting text to TIMESTAMP.
        bad = exp.or_(bad, exp.RegexpLike(this=col.copy(), expression=exp.Literal.string(_TZ_SUFFIX)))
    return exp.paren(bad)


def _value_problem(spec, tb, path, kind, c: ColumnSpec, count: int, example) -> Problem:
    phys = tb.physical_column(c.name)
    named = f"column '{c.name}'" + (f" (physical '{phys}')" if phys != c.name else "")
    where = f"{spec.qualified}.{c.name} in {path}"
    if kind == "null":
        return Problem(where, f"{named} is NOT NULL in the contract but has {count:,} NULL value(s)")
    return Problem(
        where,
        f"{named}: {count:,} value(s) do not parse as {_wanted(c)}, for example '{example}'",
    )
