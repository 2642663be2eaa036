"""``soxauto lake check``: does a lake satisfy the source contract?

Every one of the 17 logical tables is checked through its binding: the folder holds Parquet or
CSV files; every contract column is in every file; its physical type satisfies the logical type
(Parquet: the file schema; CSV: every value must parse as the contract type); no NULL sits in a
NOT NULL column; no money or rate value has digits beyond the contract's scale or is too large
for its precision; no two rows of a reference table share its key (``KEYS``). All problems are
collected and raised once, each naming table, column and file, with a count and an example.

It has to stay fast on a lake of millions of rows, so Parquet schemas, row counts and NULL counts
come from the file footers (``pyarrow.parquet.ParquetFile.metadata``: the statistics of each row
group hold its exact NULL count), and the values are read in one aggregate DuckDB query per table,
grouped by file, with one counter per column that needs one: a NOT NULL column whose footers show
NULLs (to find an example row) or do not say; every column of a CSV file; a money or rate column
stored in another numeric type than its contract decimal; the key of a reference table. A
Parquet table that needs no counter is not read at all. ``check_tables`` checks a chosen
list of tables: the pre-flight of the commands that read the lake (``lake.preflight``) is the
same check on the tables they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Sequence

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from ..errors import LakeContractError, Problem, UsageError, did_you_mean
from .binding import Binding, TableBinding, lake_binding
from .contract import ColumnSpec, TableSpec, contract

# The name DuckDB gives the source-file column; unlikely to collide with a physical column.
_FILE = "__soxauto_file"
# The number of rows sharing a row's key (reference tables only).
_SHARED = "__soxauto_key_rows"
# A timestamp text ending in a UTC offset: the contract's ts has no time zone.
_TZ_SUFFIX = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
# Types whose CSV text must cast without rounding (integers; money and rates have their own counters).
_EXACT = ("int",)
_DECIMAL = ("money", "rate")
# CSV text of a money or rate column is read this wide, so that a value with too many digits is
# counted (and shown) instead of being rounded or refused by the cast to the contract type.
_WIDE = "DECIMAL(38, 18)"
# The declared keys of the reference tables (shared/spec/source-contract.md): one row per legal
# entity; one rate per company, month and rate type. A second row with the same key silently
# doubles every figure that joins it (an entity's extracts, its FX conversion).
KEYS = MappingProxyType({
    "ref.companies": ("company_id",),
    "ref.fx_rates": ("company_id", "year", "month", "rate_type"),
})
# Columns shown to point at a row with a NULL (the table's first NOT NULL columns).
_LABEL_COLUMNS = 2


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


@dataclass(frozen=True)
class _FileFacts:
    """What one file's header or footer says: its columns' types (None for CSV text), their NULL
    counts (None when the file does not say) and its row count (None for CSV)."""

    types: dict[str, pa.DataType | None]
    nulls: dict[str, int | None]
    rows: int | None


@dataclass(frozen=True)
class _Counter:
    """One value check of the aggregate query: rows meeting ``condition``, and one example
    (a value, or the values of ``shown`` columns for a row)."""

    kind: str  # null | parse | scale | range | key
    column: ColumnSpec | None  # None for a key counter
    condition: exp.Expression
    example: exp.Expression
    shown: tuple[ColumnSpec, ...] = ()


def check_lake(lake: str | Path | None = None, binding: Binding | None = None) -> LakeReport:
    """Check a lake folder (default layout) or the lake a binding points at; raise
    ``LakeContractError`` listing every problem, or return what was found."""
    if binding is None:
        if lake is None:
            raise UsageError("check_lake needs a lake folder or a binding")
        if not Path(lake).is_dir():
            raise LakeContractError(f"{lake}: the lake folder does not exist; give <lake> with <schema>/<table> folders")
        binding = lake_binding(lake)
    problems, reports, _ = check_tables(binding, contract().tables)
    where = str(lake) if lake is not None else binding.name
    if problems:
        raise LakeContractError(
            f"{where} breaks the source contract ({len(problems)} problem(s))", problems
        )
    return LakeReport(where, tuple(reports))


def check_tables(binding: Binding, specs: Sequence[TableSpec], *, absent_ok: bool = False
                 ) -> tuple[list[Problem], list[TableReport], list[str]]:
    """Check ``specs`` through ``binding``: the problems, a report per table checked, and the
    tables without files. With ``absent_ok`` a missing or empty table folder is not a problem
    (the caller reports it its own way); a file that is there is always checked."""
    if binding.engine != "duckdb":
        raise UsageError(
            f"binding '{binding.name}' is for engine '{binding.engine}'; "
            "lake check reads folders of files (a duckdb binding)"
        )
    problems: list[Problem] = []
    reports: list[TableReport] = []
    absent: list[str] = []
    con = duckdb.connect(":memory:")
    try:
        for spec in specs:
            tb = binding.table(spec.qualified)
            missing: list[Problem] = []
            found = _files(spec, tb, missing)
            if found is None:
                absent.append(spec.qualified)
                if not absent_ok:
                    problems.extend(missing)
                continue
            report = _check_table(con, spec, tb, found, problems)
            if report is not None:
                reports.append(report)
    finally:
        con.close()
    return problems, reports, absent


def _check_table(con, spec: TableSpec, tb: TableBinding, found: tuple[str, list[Path]],
                 problems: list[Problem]) -> TableReport | None:
    fmt, files = found
    facts: dict[Path, _FileFacts] = {}
    for f in files:
        try:
            facts[f] = _parquet_facts(f) if fmt == "parquet" else _csv_facts(con, f)
        except (pa.ArrowException, OSError, duckdb.Error) as e:
            problems.append(Problem(f"{spec.qualified} in {f}", f"the file cannot be read as {fmt}: {e}"))
    if len(facts) < len(files):
        return None
    notes: list[str] = []
    for f, ff in facts.items():
        _check_columns(spec, tb, f, ff.types, problems, notes)
    # Only columns every file has can be counted in one query; the others are reported above.
    present = [c for c in spec.columns if all(tb.physical_column(c.name) in ff.types for ff in facts.values())]
    query, counters = _aggregate(spec, tb, fmt, files, present, list(facts.values()))
    if not counters:
        # The footers prove every value check: nothing to read.
        rows = [(str(f), ff.rows) for f, ff in facts.items()]
    else:
        try:
            rows = con.sql(query.sql(dialect="duckdb")).fetchall()
        except duckdb.Error as e:
            problems.append(Problem(f"{spec.qualified} in {tb.location}", f"its {fmt} files cannot be read together: {e}"))
            return None
    total = 0
    for row in rows:
        f, n_rows, values = row[0], row[1], row[2:]
        total += n_rows
        for counter, value, example in zip(counters, values[::2], values[1::2]):
            if value:
                problems.append(_value_problem(spec, tb, f, counter, value, example))
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


def _parquet_facts(path: Path) -> _FileFacts:
    parquet = pq.ParquetFile(path)
    try:
        schema, meta = parquet.schema_arrow, parquet.metadata
        nulls: dict[str, int | None] = {name: 0 for name in schema.names}
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for k in range(group.num_columns):
                chunk = group.column(k)
                name, stats = chunk.path_in_schema, chunk.statistics
                if name not in nulls or nulls[name] is None:
                    continue
                nulls[name] = nulls[name] + stats.null_count if stats is not None and stats.has_null_count else None
        return _FileFacts({name: schema.field(name).type for name in schema.names}, nulls, meta.num_rows)
    finally:
        parquet.close()


def _csv_facts(con, path: Path) -> _FileFacts:
    """The header of one CSV file (its types are checked value by value, not here)."""
    source = _reader("csv", [path], file_column=False)
    names = con.sql(exp.select("*").from_(source).limit(0).sql(dialect="duckdb")).columns
    return _FileFacts({name: None for name in names}, {name: None for name in names}, None)


def _check_columns(spec, tb, path, cols, problems, notes) -> None:
    expected = {tb.physical_column(c.name) for c in spec.columns}
    for c in spec.columns:
        phys = tb.physical_column(c.name)
        where = f"{spec.qualified}.{c.name} in {path}"
        named = _named_column(tb, c)
        if phys not in cols:
            hint = did_you_mean(phys, cols) or _case_hint(phys, cols)
            problems.append(Problem(where, f"{named} is missing{hint}"))
        elif cols[phys] is not None and not c.accepts(cols[phys]):
            problems.append(Problem(where, f"{named} is {cols[phys]}, but the contract wants {_wanted(c)}"))
    extra = [name for name in cols if name not in expected]
    if extra:
        notes.append(f"{path.name}: extra column(s) {', '.join(extra)} (allowed, not read)")


def _named_column(tb: TableBinding, c: ColumnSpec) -> str:
    phys = tb.physical_column(c.name)
    return f"column '{c.name}'" + (f" (physical '{phys}')" if phys != c.name else "")


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


def _aggregate(spec: TableSpec, tb: TableBinding, fmt: str, files: list[Path], present: list[ColumnSpec],
               facts: list[_FileFacts]):
    """One query: per file, its row count, then (count, example) per counter."""
    counters: list[_Counter] = []
    for c in present:
        phys = tb.physical_column(c.name)
        counters += _column_counters(tb, fmt, c, present, [ff.types[phys] for ff in facts],
                                     nulls=any(ff.nulls.get(phys) != 0 for ff in facts))
    source: exp.Expression = _reader(fmt, files)
    keys = [spec.column(k) for k in KEYS.get(spec.qualified, ())]
    if keys and all(k in present for k in keys):
        source, counter = _key_counter(tb, keys, source)
        counters.append(counter)
    selects: list[exp.Expression] = [exp.column(_FILE, quoted=True), exp.Count(this=exp.Star()).as_("n_rows")]
    for i, counter in enumerate(counters):
        one = exp.case().when(counter.condition, exp.Literal.number(1)).else_(exp.Literal.number(0))
        selects.append(exp.Sum(this=one).as_(f"n{i}"))
        selects.append(exp.Min(this=exp.case().when(counter.condition.copy(), counter.example)).as_(f"e{i}"))
    query = exp.select(*selects).from_(source).group_by(exp.column(_FILE, quoted=True)).order_by(exp.column(_FILE, quoted=True))
    return query, counters


def _column_counters(tb: TableBinding, fmt: str, c: ColumnSpec, present: list[ColumnSpec], types: list, *,
                     nulls: bool) -> list[_Counter]:
    """The counters one column needs; ``nulls``: some file may hold a NULL in it."""
    col = _col(tb, c)
    text = exp.Cast(this=col.copy(), to=exp.DataType.build("VARCHAR"))
    out: list[_Counter] = []
    if not c.nullable and nulls:
        shown = tuple(o for o in present if not o.nullable and o is not c)[:_LABEL_COLUMNS]
        out.append(_Counter("null", c, exp.Is(this=col.copy(), expression=exp.Null()), _row_of(tb, shown), shown))
    if c.type in _DECIMAL:
        if fmt == "csv":
            value = exp.TryCast(this=col.copy(), to=exp.DataType.build(_WIDE))
            not_number = exp.and_(_not_null(col), exp.Is(this=value.copy(), expression=exp.Null()))
            out.append(_Counter("parse", c, not_number, text.copy()))
            out += _decimal_counters(c, value, text)
        elif _numeric_but_not_contract(c, types):
            # A decimal of the contract's type cannot hold too many digits: counted only when
            # some file stores the column in another numeric type (a wider decimal, a float).
            out += _decimal_counters(c, col, text)
    elif fmt == "csv":
        out.append(_Counter("parse", c, exp.and_(_not_null(col), _unparsable(c, col)), text.copy()))
    return out


def _decimal_counters(c: ColumnSpec, value: exp.Expression, text: exp.Expression) -> list[_Counter]:
    """Digits beyond the contract's scale (DuckDB would round them away on the way to the
    contract's DECIMAL) and values beyond its precision."""
    want = c.arrow_type
    rounded = exp.Round(this=value.copy(), decimals=exp.Literal.number(want.scale))
    limit = exp.Literal.number("1" + "0" * (want.precision - want.scale))
    scale = exp.and_(_not_null(value), exp.NEQ(this=value.copy(), expression=rounded))
    large = exp.and_(_not_null(value), exp.GTE(this=exp.Abs(this=value.copy()), expression=limit))
    return [_Counter("scale", c, scale, text.copy()), _Counter("range", c, large, text.copy())]


def _numeric_but_not_contract(c: ColumnSpec, types: list) -> bool:
    numeric = all(pa.types.is_decimal(t) or pa.types.is_integer(t) or pa.types.is_floating(t) for t in types)
    return numeric and not all(c.accepts(t) for t in types)


def _key_counter(tb: TableBinding, keys: list[ColumnSpec], source: exp.Expression) -> tuple[exp.Expression, _Counter]:
    """The rows whose key another row has too (in any file of the table), in the same query: a
    window counts the rows per key over the files, then the aggregate counts per file."""
    shared = exp.Window(this=exp.Count(this=exp.Star()), partition_by=[_col(tb, k) for k in keys])
    inner = exp.select(exp.Star(), exp.alias_(shared, _SHARED, quoted=True)).from_(source)
    condition = exp.and_(exp.GT(this=exp.column(_SHARED, quoted=True), expression=exp.Literal.number(1)),
                         *(_not_null(_col(tb, k)) for k in keys))
    return inner.subquery("keyed"), _Counter("key", None, condition, _row_of(tb, tuple(keys)), tuple(keys))


def _col(tb: TableBinding, c: ColumnSpec) -> exp.Column:
    return exp.column(tb.physical_column(c.name), quoted=True)


def _not_null(e: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=e.copy(), expression=exp.Null()))


def _row_of(tb: TableBinding, shown: tuple[ColumnSpec, ...]) -> exp.Expression:
    """The values of ``shown`` as one list of texts: an example that points at a row."""
    return exp.Array(expressions=[exp.Cast(this=_col(tb, c), to=exp.DataType.build("VARCHAR")) for c in shown])


def _unparsable(c: ColumnSpec, col: exp.Expression) -> exp.Expression:
    """True for a text value that is not a value of the logical type (or would be changed)."""
    typed = exp.TryCast(this=col.copy(), to=exp.DataType.build(c.sql_type))
    bad: exp.Expression = exp.Is(this=typed, expression=exp.Null())
    if c.type in _EXACT:
        # DuckDB rounds '1.5' to BIGINT: compare with a wide cast.
        wide = exp.TryCast(this=col.copy(), to=exp.DataType.build("DECIMAL(38, 10)"))
        bad = exp.or_(bad, exp.NullSafeNEQ(this=wide, expression=typed.copy()))
    if c.type == "ts":
        # DuckDB drops a UTC offset silently when casting text to TIMESTAMP.
        bad = exp.or_(bad, exp.RegexpLike(this=col.copy(), expression=exp.Literal.string(_TZ_SUFFIX)))
    return exp.paren(bad)


def _shown(columns: tuple[ColumnSpec, ...], values) -> str:
    def one(c: ColumnSpec, v) -> str:
        if v is None:
            return f"{c.name} NULL"
        return f"{c.name} '{v}'" if c.type == "id" else f"{c.name} {v}"

    return ", ".join(one(c, v) for c, v in zip(columns, values or ()))


def _value_problem(spec: TableSpec, tb: TableBinding, path, counter: _Counter, count: int, example) -> Problem:
    c = counter.column
    if c is None:
        names = ", ".join(k.name for k in counter.shown)
        return Problem(
            f"{spec.qualified}.{names} in {path}" if len(counter.shown) == 1 else f"{spec.qualified} ({names}) in {path}",
            f"{count:,} row(s) share their key ({names}) with another row of the table, which must have one row per key; "
            f"for example {_shown(counter.shown, example)}",
        )
    named = _named_column(tb, c)
    where = f"{spec.qualified}.{c.name} in {path}"
    if counter.kind == "null":
        at = f", for example in the row with {_shown(counter.shown, example)}" if counter.shown else ""
        return Problem(where, f"{named} is NOT NULL in the contract but has {count:,} NULL value(s){at}")
    if counter.kind == "scale":
        return Problem(where, f"{named}: {count:,} value(s) have more than {c.arrow_type.scale} decimal places "
                              f"({_wanted(c)}); they would be rounded away, for example '{example}'")
    if counter.kind == "range":
        return Problem(where, f"{named}: {count:,} value(s) are too large for {_wanted(c)}, for example '{example}'")
    return Problem(
        where,
        f"{named}: {count:,} value(s) do not parse as {_wanted(c)}, for example '{example}'",
    )
