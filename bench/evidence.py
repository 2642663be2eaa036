"""Evidence for one period, all items and entities: time, peak memory, overhead, hashing speed.

    .venv/bin/python bench/evidence.py [--lake /tmp/lake1] [--period 2025-09]

The lake is only read; the store goes to a temporary folder. Figures:
- extraction time (queries + conform), C&A test time, evidence writing time, and evidence
  writing as a percentage of extraction time (target ≤ 25 %);
- the fingerprint's own time and rows per second;
- SHA-256 file hashing (``file_sha256``, as verify and the writer use it) against
  ``sha256sum`` on the same files in the same run, best of three each (target ≥ 80 %);
- peak memory (max RSS) of this process.
Results go to bench/results/evidence.json."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.evidence.fingerprint import fingerprint
from soxauto.evidence.keys import load_signer
from soxauto.evidence.package import file_sha256, write_package
from soxauto.extract import entities_in_scope, extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.validation import validate
from soxauto.validation.history import HistoryStore


def run(lake: Path, period: Period, store: Path) -> dict:
    catalog = load_catalog()
    items = catalog.extractable()
    signer = load_signer(store)
    t = {"extract": 0.0, "tests": 0.0, "evidence": 0.0, "fingerprint": 0.0}
    rows = packages = 0
    history = HistoryStore(store.parent / "history.jsonl")
    with connect(lake_binding(lake)) as engine:
        for entity in entities_in_scope(engine):
            for item in items:
                t0 = time.perf_counter()
                result = extract(engine, item, period, entity)
                t1 = time.perf_counter()
                needed = sorted({r.get("other") for r in item.tests if r.kind == "cross_source"})
                others = {o: extract(engine, catalog.item(o), period, entity) for o in needed}
                tests = validate(engine, result, others=others, history=history)
                t2 = time.perf_counter()
                write_package(store, result, tests, signer=signer)
                t3 = time.perf_counter()
                fingerprint(result.table)  # the fingerprint alone, to see its share
                t["fingerprint"] += time.perf_counter() - t3
                t["extract"] += t1 - t0
                t["tests"] += t2 - t1
                t["evidence"] += t3 - t2
                rows += result.row_count
                packages += 1
    return {"packages": packages, "rows": rows, "seconds": {k: round(v, 2) for k, v in t.items()},
            "evidence_pct_of_extraction": round(100 * t["evidence"] / t["extract"], 1),
            "fingerprint_rows_per_second": int(rows / t["fingerprint"]) if t["fingerprint"] else None}


def hashing(store: Path) -> dict:
    files = sorted(p for p in store.rglob("*") if p.is_file() and "keys" not in p.parts)
    size = sum(p.stat().st_size for p in files)
    ours, theirs = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        for p in files:
            file_sha256(p)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run(["sha256sum", *map(str, files)], check=True, stdout=subprocess.DEVNULL)
        theirs.append(time.perf_counter() - t0)
    mib = size / 2**20
    return {"files": len(files), "mib": round(mib, 1), "ours_mib_s": round(mib / min(ours), 1),
            "sha256sum_mib_s": round(mib / min(theirs), 1), "ratio_pct": round(100 * min(theirs) / min(ours), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", default="/tmp/lake1")
    ap.add_argument("--period", default="2025-09")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="soxauto-evidence-bench-") as tmp:
        store = Path(tmp) / "evidence"
        t0 = time.perf_counter()
        figures = run(Path(args.lake), Period.parse(args.period), store)
        figures["wall_seconds"] = round(time.perf_counter() - t0, 2)
        figures["hashing"] = hashing(store)
        figures["store_mib"] = round(sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 2**20, 1)
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    figures.update(lake=args.lake, period=args.period, python=sys.version.split()[0])
    out = Path(__file__).parent / "results" / "evidence.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
