"""Results written back to the lake for BI tools: six Parquet tables, hive-partitioned by period
and entity, and a DuckDB database file with a view over each.

    <folder>/<table>/period=YYYY-MM/entity=XX/part-0.parquet     (partition columns not in the file)
    <folder>/soxauto.duckdb                                       views recon_lines, bridges, ...

A later export of the same period and entity replaces its partition, so the tables hold the
latest exported run of each period (its id is in every row). Money is decimal128(38,2)
(DECIMAL(38,2) in DuckDB and Athena); ``fx_rate`` is decimal128(38,6); ``reasons`` is a list of
strings (every reason code of the line, in the spec's order). ``bridges_lcy`` is Σ bridges: what
the bridges classify, not what is explained (that is ``resolved_lcy``); ``bridge_items`` carries
what explains each item (nature, state, cleared and open amounts, window end, age, disposition).
The default folder is ``<lake>/_soxauto`` for a folder lake, else ``<reports>/lake``.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .model import RunData
from .narrative import item_count, line_narrative, reasons

M = pa.decimal128(38, 2)
S = pa.string()
PARTITIONS = ("period", "entity")
TABLES: dict[str, pa.Schema] = {
    "recon_lines": pa.schema([
        ("run_id", S), ("period", S), ("entity", S), ("line", S), ("title", S), ("currency", S), ("class", S),
        ("gl_amount", M), ("tv_amount", M), ("variance_lcy", M), ("variance_usd", M), ("bridges_lcy", M),
        ("unexplained_lcy", M), ("unexplained_usd", M), ("unexplained_items", pa.int64()), ("resolved_lcy", M),
        ("resolved_usd", M), ("unresolved_lcy", M), ("unresolved_usd", M), ("tie_out_difference_lcy", M),
        ("unresolved_items", pa.int64()), ("fx_rate", pa.decimal128(38, 6)), ("bucket_usd", M), ("status", S),
        ("reason", S), ("reasons", pa.list_(S)), ("auto_certified", pa.bool_()), ("auto_certification", S),
        ("signoff_state", S), ("narrative", S)]),
    "bridges": pa.schema([
        ("run_id", S), ("period", S), ("entity", S), ("line", S), ("bridge", S), ("nature", S), ("version", S),
        ("position", pa.int64()), ("item_count", pa.int64()), ("material_items", pa.int64()), ("amount_lcy", M),
        ("amount_usd", M), ("currency", S)]),
    "bridge_items": pa.schema([
        ("run_id", S), ("period", S), ("entity", S), ("line", S), ("bridge", S), ("key", S), ("amount_lcy", M),
        ("currency", S), ("material", pa.bool_()), ("nature", S), ("state", S), ("movement_lcy", M), ("cleared_lcy", M),
        ("open_lcy", M), ("first_cutoff", pa.date32()), ("window_end", pa.date32()), ("age_days", pa.int32()),
        ("disposition", S), ("disposition_id", S), ("disposition_period", S)]),
    "validation_results": pa.schema([
        ("run_id", S), ("period", S), ("entity", S), ("evidence_id", S), ("item", S), ("rule_id", S), ("kind", S),
        ("severity", S), ("outcome", S), ("failing_count", pa.int64()), ("observed", S), ("expected", S), ("message", S)]),
    "evidence_index": pa.schema([
        ("run_id", S), ("period", S), ("entity", S), ("evidence_id", S), ("item", S), ("status", S),
        ("manifest_sha256", S), ("fingerprint", S), ("rows", pa.int64()), ("ledger_seq", pa.int64()),
        ("tests_passed", pa.int64()), ("tests_failed", pa.int64()), ("tests_errored", pa.int64())]),
    "signoffs": pa.schema([
        ("run_id", S), ("period", S), ("entity", S), ("line", S), ("state", S), ("prepared_by", S), ("prepared_at", S),
        ("reviewed_by", S), ("reviewed_at", S), ("comment", S), ("evidence", S)]),
}


def _d(text, places: str = "0.01") -> Decimal | None:
    return None if text is None else Decimal(text).quantize(Decimal(places))


def rows(data: RunData) -> dict[str, list[dict]]:
    """Every table's rows, as Python values (Decimals for money)."""
    base = {"run_id": data.run_id, "period": data.period}
    out: dict[str, list[dict]] = {name: [] for name in TABLES}
    for ln in data.lines:
        bridged = sum((Decimal(b["amount_lcy"]) for b in ln["bridges"].values()), Decimal("0.00"))
        sign = data.signoff(ln["entity"], ln["line"])
        out["recon_lines"].append({
            **base, "entity": ln["entity"], "line": ln["line"], "title": ln["title"], "currency": ln["currency"],
            "class": ln["class"], **{k: _d(ln.get(k)) for k in (
                "gl_amount", "tv_amount", "variance_lcy", "variance_usd", "unexplained_lcy", "unexplained_usd", "resolved_lcy",
                "resolved_usd", "unresolved_lcy", "unresolved_usd", "tie_out_difference_lcy")},
            "bridges_lcy": bridged, "unexplained_items": ln["unexplained_items"],
            "unresolved_items": (ln.get("reconciling_items") or {}).get("unresolved"), "fx_rate": _d(ln["fx_rate"], "0.000001"),
            "bucket_usd": _d((ln.get("threshold") or {}).get("bucket_usd")), "status": ln["status"], "reason": ln["reason"],
            "reasons": reasons(ln), "auto_certified": ln["auto_certified"],
            "auto_certification": ln.get("auto_certification") if ln["auto_certified"] else None,
            "signoff_state": sign["state"] if sign else "unsigned", "narrative": line_narrative(ln)})
        for n, (b_id, b) in enumerate(ln["bridges"].items()):
            out["bridges"].append({**base, "entity": ln["entity"], "line": ln["line"], "bridge": b_id, "nature": b.get("nature"),
                                   "version": b["version"], "position": n, "item_count": item_count(b),
                                   "material_items": b["material_items"], "amount_lcy": _d(b["amount_lcy"]),
                                   "amount_usd": _d(b["amount_usd"]), "currency": ln["currency"]})
    for v in data.validation:
        out["validation_results"].append({**base, **{k: v[k] for k in TABLES["validation_results"].names if k in v}})
    for e in data.evidence:
        out["evidence_index"].append({**base, **{k: e[k] for k in TABLES["evidence_index"].names if k in e}})
    for s in data.signoffs:
        out["signoffs"].append({**base, **{k: s.get(k) for k in TABLES["signoffs"].names if k not in base},
                                "run_id": s.get("run_id") or data.run_id,
                                "evidence": json.dumps(s.get("evidence") or {}, sort_keys=True)})
    return out


def tables(data: RunData) -> dict[str, pa.Table]:
    out = {name: pa.Table.from_pylist(r, schema=TABLES[name]) for name, r in rows(data).items()}
    items = data.items()
    n = items.num_rows
    out["bridge_items"] = pa.table({"run_id": pa.array([data.run_id] * n, S), **{
        c: items[c] for c in TABLES["bridge_items"].names if c != "run_id"}}, schema=TABLES["bridge_items"])
    return out


def default_folder(data: RunData, reports_dir: Path) -> Path:
    source = data.run["source"]
    if source.startswith("lake:") and Path(source[5:]).is_dir():
        return Path(source[5:]) / "_soxauto"
    return Path(reports_dir) / "lake"


def write_tables(data: RunData, folder: Path) -> dict[str, list[Path]]:
    """Write each table's partitions of this run (replacing them); returns the files per table."""
    folder = Path(folder)
    written: dict[str, list[Path]] = {}
    for name, table in tables(data).items():
        written[name] = []
        keys = sorted({(data.period, e) for e in data.run["entities"]})
        for period, entity in keys:
            part = folder / name / f"period={period}" / f"entity={entity}"
            mask = pc.equal(table["entity"], entity)
            chunk = table.filter(mask).drop_columns(list(PARTITIONS))
            if part.exists():
                shutil.rmtree(part)
            part.mkdir(parents=True)
            pq.write_table(chunk, part / "part-0.parquet", compression="zstd")
            written[name].append(part / "part-0.parquet")
    return written


def view_sql(name: str, folder: Path) -> str:
    """``CREATE OR REPLACE VIEW name AS SELECT * FROM read_parquet(glob, hive_partitioning = true)``, via sqlglot."""
    import sqlglot.expressions as exp

    source = exp.func("read_parquet", exp.Literal.string(str(Path(folder).resolve() / name / "*" / "*" / "*.parquet")),
                      exp.EQ(this=exp.column("hive_partitioning"), expression=exp.true()),
                      exp.EQ(this=exp.column("hive_types_autocast"), expression=exp.false()))
    query = exp.select("*").from_(source)
    view = exp.Create(this=exp.to_table(name), kind="VIEW", replace=True, expression=query)
    return view.sql("duckdb")


def write_duckdb(folder: Path) -> Path:
    import duckdb

    db = Path(folder) / "soxauto.duckdb"
    con = duckdb.connect(str(db))
    try:
        for name in TABLES:
            if (Path(folder) / name).is_dir():
                con.execute(view_sql(name, folder))
    finally:
        con.close()
    return db


def export_lake(data: RunData, folder: Path) -> dict:
    written = write_tables(data, folder)
    db = write_duckdb(folder)
    return {"folder": str(folder), "duckdb": str(db), "tables": {k: len(v) for k, v in written.items()}}
