"""Benchmark (issue 5): the full month-end close of one period, all entities, all items,
reconciliation and reports, as a child process (``soxauto close --json``), with its wall time,
peak memory (max RSS of the child, from ``wait4``) and the time per stage from the run summary.

Targets on the 2-core development machine: scale 1 <= 3 minutes wall and <= 4 GiB peak;
scale 10 must complete (wall and peak reported). Usage::

    .venv/bin/python bench/close.py [--lake /tmp/lake1] [--period latest] [-j 2] [--label scale1]

The product home (run store, evidence, reports) is a fresh folder under /tmp, removed after
the run unless --keep. Figures go to stdout and are merged into bench/results/close.json
under the label.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOXAUTO = ROOT / ".venv" / "bin" / "soxauto"


def close(lake: Path, period: str, parallelism: int, home: Path) -> dict:
    env = dict(os.environ, SOXAUTO_HOME=str(home))
    out, err = home / "close.json", home / "close.err"
    argv = [str(SOXAUTO), "close", "--lake", str(lake), "--period", period, "-j", str(parallelism), "--json"]
    t0 = time.perf_counter()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen(argv, stdout=fo, stderr=fe, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2):
        raise SystemExit(f"close failed ({code}): {' '.join(argv)}\n{err.read_text()[-3000:]}")
    summary = json.loads(out.read_text())
    steps = summary["steps"]
    store = home / "evidence"
    return {
        "lake": str(lake), "period": summary["period"], "parallelism": parallelism, "exit_code": code,
        "status": summary["status"], "wall_seconds": round(wall, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "stages_seconds_summed_over_workers": summary["stages"],
        "entities": len(summary["entities"]), "evidence_packages": sum(1 for s in steps if s["evidence_id"]),
        "rows": sum(s["rows"] or 0 for s in steps if s["stage"] == "evidence"),
        "lines": len(summary["reconciliation"]["lines"]), "line_status": summary["reconciliation"]["summary"],
        "tests": summary["tests"],
        "slowest_steps": sorted(({"step": f"{s['entity']} {s['stage']} {s['item']}".rstrip(), "seconds": round(s["seconds"], 2)}
                                 for s in steps if s["seconds"]), key=lambda d: -d["seconds"])[:5],
        "evidence_store_mib": round(sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) / 2**20, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", type=Path, default=Path("/tmp/lake1"))
    ap.add_argument("--period", default="latest")
    ap.add_argument("-j", "--parallelism", type=int, default=2)
    ap.add_argument("--label", default=None, help="Key in bench/results/close.json (default: the lake's folder name).")
    ap.add_argument("--keep", action="store_true", help="Keep the product home for inspection.")
    args = ap.parse_args()
    if not (args.lake / "ground_truth.json").exists():
        raise SystemExit(f"{args.lake} is not a generated lake; e.g. soxauto lake generate --out /tmp/lake1 --scale 1")
    home = Path(tempfile.mkdtemp(prefix="soxauto-bench-close-", dir="/tmp"))
    try:
        result = close(args.lake, args.period, args.parallelism, home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    result |= {"machine": platform.machine(), "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if args.keep:
        result["home"] = str(home)
    print(json.dumps(result, indent=2))
    path = ROOT / "bench" / "results" / "close.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(path.read_text()) if path.exists() else {}
    saved[args.label or args.lake.name] = result
    path.write_text(json.dumps(saved, indent=2) + "\n")


if __name__ == "__main__":
    main()
