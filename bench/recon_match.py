"""Benchmark (issue 4): the key-level match, DuckDB vs datacompy, on the same two tables.

Two Parquet tables of 1 million keys each (GL-side key sums ``g`` and TV-side key sums ``t``,
DECIMAL(18,2)): 1% of the keys only on the GL side, 1% only on the TV side, 2% of the common
keys with a different amount. Each side runs in its own child process (wall time and peak
memory from ``os.wait4``, as in ``measure.py``) and reads the same files:

- **duckdb**: the recon core's shape, built as sqlglot expressions and run by the product's
  DuckDB engine on the tables registered as Arrow: a FULL OUTER JOIN of two keyed aggregates
  with ``delta = COALESCE(g, 0) - COALESCE(t, 0)`` as DECIMAL(18,2), materialised as Arrow,
  then the mismatched keys counted (delta <> 0).
- **datacompy**: ``PandasCompare`` joined on the key with zero tolerance, the amounts as read
  by pandas (``decimal.Decimal`` objects: exact); and a second run with the amounts as int64
  cents, datacompy's fastest exact setting.

Both sides must find the same number of mismatched keys as the generator put in (asserted).
Usage::

    .venv/bin/python bench/recon_match.py [--keys 1000000] [--seed 7]

Figures go to stdout and bench/results/recon_match.json. Targets: DuckDB at least 5x faster
than datacompy; at least 10 million keys matched per minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MONEY = "DECIMAL(18, 2)"


def generate(n: int, seed: int, folder: Path) -> dict:
    """Write gl.parquet (key, g) and tv.parquet (key, t); return the counts put in."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    r = np.random.default_rng(seed)
    one_sided = n // 100
    common = n - one_sided
    ids = r.permutation(common + 2 * one_sided)  # key numbers: common, GL only, TV only
    gl_ids, tv_ids = ids[:n], np.concatenate([ids[:common], ids[n:]])
    cents = r.integers(1, 10**9, len(ids))  # never zero, so a one-sided key always mismatches
    g = cents[:n].copy()
    t = np.concatenate([cents[:common], cents[n:]])
    differ = r.choice(common, size=common // 50, replace=False)
    t[differ] += r.integers(1, 10**6, len(differ)) * r.choice([-1, 1], len(differ))
    t[differ] = np.where(t[differ] == g[differ], t[differ] + 1, t[differ])

    def table(key_numbers, amounts, name):
        order = r.permutation(len(key_numbers))  # each side in its own order, as extracts are
        keys = pa.array(np.char.add("K", np.char.zfill(key_numbers[order].astype(str), 9)))
        money = pa.Array.from_buffers(pa.decimal128(18, 2), len(order), [None, pa.py_buffer(_dec128(amounts[order]))])
        return pa.table({"key": keys, name: money})

    pq.write_table(table(gl_ids, g, "g"), folder / "gl.parquet")
    pq.write_table(table(tv_ids, t, "t"), folder / "tv.parquet")
    return {"keys_per_side": n, "gl_only": one_sided, "tv_only": one_sided, "amount_differences": len(differ),
            "union_keys": common + 2 * one_sided, "mismatched": 2 * one_sided + len(differ)}


def _dec128(cents):
    """Little-endian 128-bit two's complement of int64 cents (the decimal's unscaled value)."""
    import numpy as np

    out = np.zeros((len(cents), 2), dtype=np.int64)
    out[:, 0] = cents
    out[:, 1] = np.where(cents < 0, -1, 0)
    return out.tobytes()


def match_query(gl, tv):
    """FULL OUTER JOIN of the two keyed aggregates, delta as DECIMAL(18,2)."""
    from sqlglot import exp

    def keyed(table, col):
        return exp.select("key", exp.alias_(exp.Sum(this=exp.column(col)), col)).from_(table).group_by("key")

    g, t = exp.column("g", table="g"), exp.column("t", table="t")
    zero = exp.Literal.number(0)
    delta = exp.cast(exp.Sub(this=exp.func("COALESCE", g, zero), expression=exp.func("COALESCE", t.copy(), zero.copy())), MONEY)
    return (exp.select(exp.alias_(exp.func("COALESCE", exp.column("key", table="g"), exp.column("key", table="t")), "key"),
                       g.copy(), t.copy(), exp.alias_(delta, "delta"))
            .from_(exp.to_table("g"))
            .join(exp.to_table("t"), on=exp.EQ(this=exp.column("key", table="g"), expression=exp.column("key", table="t")),
                  join_type="FULL OUTER")
            .with_("g", as_=keyed(gl, "g")).with_("t", as_=keyed(tv, "t")))


def count_query(joined):
    from sqlglot import exp

    def count_if(cond):
        return exp.Sum(this=exp.case().when(cond, exp.Literal.number(1)).else_(exp.Literal.number(0)))

    return exp.select(
        exp.alias_(exp.Count(this=exp.Star()), "keys"),
        exp.alias_(count_if(exp.NEQ(this=exp.column("delta"), expression=exp.Literal.number(0))), "mismatched"),
        exp.alias_(count_if(exp.column("t").is_(exp.null())), "gl_only"),
        exp.alias_(count_if(exp.column("g").is_(exp.null())), "tv_only")).from_(joined)


def run_duckdb(folder: Path) -> dict:
    import pyarrow.parquet as pq

    from soxauto.engines.duckdb import DuckDBEngine
    from soxauto.lake.binding import lake_binding

    t0 = time.perf_counter()
    gl, tv = pq.read_table(folder / "gl.parquet"), pq.read_table(folder / "tv.parquet")
    t1 = time.perf_counter()
    with DuckDBEngine(lake_binding(folder)) as engine:
        joined = engine.run(match_query(engine.register("gl", gl), engine.register("tv", tv)), {}).table
        t2 = time.perf_counter()
        counts = engine.run(count_query(engine.register("joined", joined)), {}).table.to_pylist()[0]
    t3 = time.perf_counter()
    assert str(joined.schema.field("delta").type) == "decimal128(18, 2)"
    return {**{k: int(v) for k, v in counts.items()}, "read_s": t1 - t0, "match_s": t2 - t1, "count_s": t3 - t2}


def run_datacompy(folder: Path, cents: bool) -> dict:
    import datacompy
    import pandas as pd

    t0 = time.perf_counter()
    if cents:
        gl, tv = _cents_frame(folder / "gl.parquet", "g"), _cents_frame(folder / "tv.parquet", "t")
    else:
        gl = pd.read_parquet(folder / "gl.parquet").rename(columns={"g": "amount"})
        tv = pd.read_parquet(folder / "tv.parquet").rename(columns={"t": "amount"})
    t1 = time.perf_counter()
    cmp = datacompy.PandasCompare(gl, tv, join_columns="key", abs_tol=0, rel_tol=0, df1_name="gl", df2_name="tv")
    gl_only, tv_only = len(cmp.df1_unq_rows), len(cmp.df2_unq_rows)
    differ = int((~cmp.intersect_rows["amount_match"]).sum())
    t2 = time.perf_counter()
    return {"keys": gl_only + tv_only + len(cmp.intersect_rows), "mismatched": gl_only + tv_only + differ,
            "gl_only": gl_only, "tv_only": tv_only, "read_s": t1 - t0, "match_s": t2 - t1, "count_s": 0.0}


def _cents_frame(path: Path, column: str):
    """The amounts as int64 cents: the low word of each decimal128 (exact: they fit in int64)."""
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    arr = table.column(column).combine_chunks()
    low = np.frombuffer(arr.buffers()[1], dtype=np.int64)[2 * arr.offset::2][: len(arr)]
    return pd.DataFrame({"key": table.column("key").to_pandas(), "amount": low.copy()})


def child(side: str, folder: Path, out: Path) -> None:
    result = run_duckdb(folder) if side == "duckdb" else run_datacompy(folder, cents=side == "datacompy-cents")
    out.write_text(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--side", choices=("duckdb", "datacompy", "datacompy-cents"))
    ap.add_argument("--data", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.side:
        return child(args.side, args.data, args.out)
    report: dict = {"keys_per_side": args.keys, "seed": args.seed, "sides": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report["input"] = expected = generate(args.keys, args.seed, folder)
        for side in ("duckdb", "datacompy", "datacompy-cents"):
            out = folder / f"{side}.json"
            m = measure([sys.executable, __file__, "--side", side, "--data", str(folder), "--out", str(out)])
            inner = json.loads(out.read_text())
            assert inner["mismatched"] == expected["mismatched"], (side, inner, expected)
            assert (inner["gl_only"], inner["tv_only"], inner["keys"]) == (
                expected["gl_only"], expected["tv_only"], expected["union_keys"]), (side, inner)
            report["sides"][side] = {**m, **{k: round(v, 3) if isinstance(v, float) else v for k, v in inner.items()}}
    summarise(report)
    out_file = ROOT / "bench" / "results" / "recon_match.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=2))
    print(f"written to {out_file}")


def summarise(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    keys = report["input"]["union_keys"]
    s = report["sides"]
    duck = s["duckdb"]
    for side in s.values():
        side["keys_per_minute"] = int(keys / side["wall_seconds"] * 60)
        side["keys_per_minute_match_only"] = int(keys / max(side["match_s"], 1e-9) * 60)
    report["ratio_wall"] = {k: round(v["wall_seconds"] / duck["wall_seconds"], 1) for k, v in s.items() if k != "duckdb"}
    report["ratio_match_only"] = {k: round(v["match_s"] / duck["match_s"], 1) for k, v in s.items() if k != "duckdb"}
    t = Table(title=f"Key-level match: {report['keys_per_side']:,} keys per side, {keys:,} keys joined, "
                    f"{report['input']['mismatched']:,} mismatched (all sides agree)")
    for col in ("side", "wall s", "read s", "match s", "peak MiB", "keys/min (wall)", "keys/min (match)", "slower than duckdb"):
        t.add_column(col, justify="left" if col == "side" else "right")
    for name, v in s.items():
        ratio = "" if name == "duckdb" else f"{report['ratio_wall'][name]}x wall, {report['ratio_match_only'][name]}x match"
        t.add_row(name, f"{v['wall_seconds']:.2f}", f"{v['read_s']:.2f}", f"{v['match_s']:.2f}", f"{v['peak_rss_mib']:,.0f}",
                  f"{v['keys_per_minute']:,}", f"{v['keys_per_minute_match_only']:,}", ratio)
    Console(width=150).print(t)
    print(f"targets: >= 5x faster than datacompy (wall: {report['ratio_wall']['datacompy']}x), "
          f">= 10,000,000 keys/min (wall: {duck['keys_per_minute']:,})")


if __name__ == "__main__":
    main()
