"""Benchmark (issue 4): reconciliation of all lines × entities of one period, and its
correctness against the generator's ground truth.

Target at scale 1: reconciliation <= 30 s for one period (extraction and C&A tests are timed
separately; they are not part of the target). Every figure of every line (gl_amount,
tv_amount, variance, each bridge and its key count, unexplained) must equal
ground_truth.json to the cent: mismatches are listed. Usage::

    .venv/bin/python bench/recon.py [--lake DIR] [--period YYYY-MM] [--scale 1] [--all-periods]

Without --lake a lake is generated (seed 7, 3 periods from 2025-07) under bench/results/.
Figures go to stdout and to bench/results/recon.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.extract import extract, time_bounds
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.recon import entities, load_pack, reconcile
from soxauto.validation import validate

ROOT = Path(__file__).resolve().parent.parent


def figures(line) -> dict:
    return {"gl_amount": str(line.gl_amount), "tv_amount": str(line.tv_amount), "variance": str(line.variance_lcy),
            "bridges": {b.id: str(b.amount_lcy) for b in line.bridges},
            "bridge_keys": {b.id: b.item_count for b in line.bridges}, "unexplained": str(line.unexplained_lcy)}


def one_period(lake: Path, period: Period, truth: dict) -> dict:
    catalog = load_catalog()
    pack = load_pack(catalog=catalog)
    seconds = {"extract": 0.0, "validate": 0.0, "reconcile": 0.0}
    mismatches, lines, keys = [], 0, 0
    with connect(lake_binding(lake)) as engine:
        for ent in entities(engine):
            t0 = time.perf_counter()
            bounds = time_bounds(engine, pack, period, ent.company_id)
            extracts = {i: extract(engine, catalog.item(i), period, ent.company_id, bounds) for i in pack.items}
            others = {**extracts, "JDASH": extract(engine, catalog.item("JDASH"), period, ent.company_id)}  # IPE_08's cross-source test
            t1 = time.perf_counter()
            validations = {i: validate(engine, x, others=others) for i, x in extracts.items()}
            t2 = time.perf_counter()
            result = reconcile(engine, extracts, period, ent, pack=pack, validations=validations)
            t3 = time.perf_counter()
            seconds["extract"] += t1 - t0
            seconds["validate"] += t2 - t1
            seconds["reconcile"] += t3 - t2
            for line in result.lines:
                lines += 1
                keys += line.keys
                want = truth.get((str(period), ent.company_id, line.line))
                want = {k: want[k] for k in figures(line)} if want else None
                if figures(line) != want:
                    mismatches.append({"entity": ent.company_id, "line": line.line, "product": figures(line), "truth": want})
    return {"period": str(period), "lines": lines, "key_rows": keys, "mismatches": mismatches,
            "seconds": {k: round(v, 2) for k, v in seconds.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", type=Path, default=None)
    ap.add_argument("--period", default=None, help="YYYY-MM (default: the lake's last period)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--all-periods", action="store_true")
    args = ap.parse_args()
    lake = args.lake or ROOT / "bench" / "results" / f"lake-scale{args.scale:g}"
    if not (lake / "ground_truth.json").exists():
        from soxauto.lake.generate import generate

        generate(lake, scale=args.scale, seed=7, first_period=Period(2025, 7), periods=3, quiet=True)
    doc = json.loads((lake / "ground_truth.json").read_text())
    truth = {(r["period"], r["company_id"], r["line"]): r for r in doc["results"]}
    periods = sorted({p for p, _, _ in truth})
    chosen = periods if args.all_periods else [args.period or periods[-1]]
    runs = [one_period(lake, Period.parse(p), truth) for p in chosen]
    report = {"lake": str(lake), "scale": doc["generator"]["scale"], "machine": platform.machine(),
              "target_reconcile_seconds": 30, "runs": runs,
              "mismatches": sum(len(r["mismatches"]) for r in runs)}
    out = ROOT / "bench" / "results" / "recon.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    for r in runs:
        s = r["seconds"]
        print(f"{r['period']}: {r['lines']} lines, {r['key_rows']:,} key rows; extract {s['extract']} s, "
              f"C&A tests {s['validate']} s, reconcile {s['reconcile']} s; mismatches {len(r['mismatches'])}")
    print(f"report: {out}")


if __name__ == "__main__":
    main()
