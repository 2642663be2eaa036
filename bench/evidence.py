"""Evidence for one period, all items and entities: time, peak memory, overhead, hashing speed.

    .venv/bin/python bench/evidence.py [--lake /tmp/lake1] [--period 2025-09] [--runs 2]

The lake is only read; each run writes a fresh store in a temporary folder.

What counts as what (issue 3's target: evidence writing adds ≤ 25 % to extraction time):
- **extraction** is what ``soxauto extract`` must do without any evidence: run the query,
  conform the result to the item's output types, and write the extract as Parquet (issue 9
  defines extraction as writing the Parquet extract). ``parquet`` is timed alone, with nothing
  else running (``extraction_parquet``); the package writer then writes the same Parquet as its
  ``data.parquet`` while the fingerprint is computed beside it on a worker thread
  (``parquet_in_package``).
- **evidence added** = ``seal`` + (``parquet_in_package`` − ``parquet``): everything the package
  adds to the wall time of an extraction, including any slowdown of the Parquet write from the
  fingerprint running beside it. The ratios use it.
- **tests**: the C&A tests, with the extractions of the items a cross-source rule compares with.
- **seal** is everything else the package needs (``Draft.seal``): hashing every file,
  waiting for the fingerprint, data.csv, profile.json and the other small files, index.html, fsync of every
  file and folder, the manifest, its signature, SHA256SUMS, recovery checks and the ledger.
Both ratios are reported: evidence vs query-only extraction (``pct_of_query``) and vs
query + Parquet (``pct_of_extraction``, the issue's definition).

The breakdown (``evidence_parts_s``) is main-thread time per part, exclusive, so the parts add
up to the evidence time (``other`` is the rest): the fingerprint, SHA-256 of the small files
(from memory), writing them, waiting for the worker threads that meanwhile hash data.parquet
(from the bytes the extraction wrote) and serialise, hash and write data.csv, profile.json, the other small files and index.html, waiting for the fsyncs (run
on worker threads from the moment each file is written), recovery checks under the store lock,
the manifest + signature + SHA256SUMS, and the commit (folder fsyncs, rename, ledger append).
The worker threads' busy time (``parquet_sha256_busy_s``, ``csv_busy_s``, ``fsync_busy_s``)
overlaps those parts.
Also: SHA-256 file hashing (``file_sha256``, as verify uses it) against ``sha256sum`` on the same
files in the same run, best of three each (target ≥ 80 %); peak memory (max RSS) of this process.
The machine may be shared: use several runs. Results go to bench/results/evidence.json."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.evidence.keys import load_signer
from soxauto.evidence.package import begin_package, file_sha256
from soxauto.extract import entities_in_scope, extract, time_bounds
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.recon import load_pack
from soxauto.validation import validate
from soxauto.validation.history import HistoryStore

MAIN_PARTS = ("fingerprint", "sha256", "write", "worker_wait", "profile", "small_files", "fsync_wait", "recover",
              "sign", "commit")


def run(lake: Path, period: Period, store: Path) -> dict:
    catalog = load_catalog()
    items, window = catalog.extractable(), load_pack(catalog=catalog)
    signer = load_signer(store)
    t = Counter()
    parts = Counter()
    rows = packages = 0
    history = HistoryStore(store.parent / "history.jsonl")
    with connect(lake_binding(lake)) as engine:
        for entity in entities_in_scope(engine):
            bounds = time_bounds(engine, window, period, entity)  # horizon and window_end, once per entity
            for item in items:
                t0 = time.perf_counter()
                result = extract(engine, item, period, entity, bounds)
                t1 = time.perf_counter()
                alone = extraction_parquet(result, store.parent / "alone.parquet")
                tp = time.perf_counter()
                with begin_package(store, result) as draft:  # writes data.parquet (+ fingerprint alongside)
                    t2 = time.perf_counter()
                    needed = item.compared_with
                    others = {o: extract(engine, catalog.item(o), period, entity, bounds) for o in needed}
                    tests = validate(engine, result, others=others, history=history)
                    t3 = time.perf_counter()
                    written = draft.seal(tests, signer=signer)
                    t4 = time.perf_counter()
                t.update(query=t1 - t0, parquet=alone, parquet_in_package=t2 - tp, tests=t3 - t2, evidence=t4 - t3)
                parts.update({k: v for k, v in written.timings.items()})
                rows += result.row_count
                packages += 1
    extraction = t["query"] + t["parquet"]
    # What evidence adds to the wall time of an extraction: sealing, plus whatever the package's
    # Parquet step took beyond writing the same Parquet alone (the fingerprint runs beside it).
    added = t["evidence"] + max(0.0, t["parquet_in_package"] - t["parquet"])
    main = {k: round(parts[k], 2) for k in MAIN_PARTS}
    main["other"] = round(t["evidence"] - sum(parts[k] for k in MAIN_PARTS), 2)
    return {
        "packages": packages, "rows": rows,
        "seconds": {"query": round(t["query"], 2), "parquet": round(t["parquet"], 2), "extraction": round(extraction, 2),
                    "parquet_in_package": round(t["parquet_in_package"], 2), "tests": round(t["tests"], 2),
                    "seal": round(t["evidence"], 2), "evidence_added": round(added, 2)},
        "evidence_pct_of_query": round(100 * added / t["query"], 1),
        "evidence_pct_of_extraction": round(100 * added / extraction, 1),
        "evidence_parts_s": main,
        "fingerprint_busy_s": round(parts["fingerprint_busy"], 2),
        "fingerprint_rows_per_second": int(rows / parts["fingerprint_busy"]) if parts["fingerprint_busy"] else None,
        "csv_busy_s": round(parts["csv_busy"], 2),
        "parquet_sha256_busy_s": round(parts["parquet_sha256_busy"], 2),
        "fsync_busy_s": round(parts["fsync"], 2),
        "parquet_in_writer_s": round(parts["parquet"], 2),
    }


def extraction_parquet(result, path: Path) -> float:
    """Seconds to serialise and write the extract as Parquet with nothing else running: the
    extraction's own output, as the package writer does it (buffer, then file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    sink = pa.BufferOutputStream()
    pq.write_table(result.table, sink, compression="zstd")
    path.write_bytes(sink.getvalue())
    seconds = time.perf_counter() - t0
    path.unlink()
    return seconds


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
    ap.add_argument("--runs", type=int, default=2, help="Independent runs, each into a fresh store.")
    args = ap.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="soxauto-evidence-bench-") as tmp:
            store = Path(tmp) / "evidence"
            t0 = time.perf_counter()
            figures = run(Path(args.lake), Period.parse(args.period), store)
            figures["wall_seconds"] = round(time.perf_counter() - t0, 2)
            figures["hashing"] = hashing(store)
            figures["store_mib"] = round(sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 2**20, 1)
        runs.append(figures)
        print(json.dumps(figures, indent=2), flush=True)
    out = {"runs": runs, "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "lake": args.lake, "period": args.period, "python": sys.version.split()[0]}
    path = Path(__file__).parent / "results" / "evidence.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
