"""Benchmark (issue: foundation): all extractions of one period for all entities.

Target at scale 1: wall <= 60 s and peak memory <= 4 GiB. Also times the demo-lake generator
(target: scale 1 in under 2 minutes). Usage::

    .venv/bin/python bench/extract_all.py [--scale 1] [--periods 3] [--lake DIR] [--regenerate]

Figures go to stdout and to bench/results/extract_all.json. Run on the shared 2-core machine:
compare ratios within one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SOXAUTO = str(Path(sys.executable).parent / "soxauto")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--periods", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--lake", type=Path, default=None)
    ap.add_argument("--regenerate", action="store_true")
    args = ap.parse_args()
    lake = args.lake or ROOT / "bench" / "results" / f"lake-scale{args.scale:g}"
    report: dict = {"scale": args.scale, "periods": args.periods, "lake": str(lake)}

    if args.regenerate or not (lake / "ground_truth.json").exists():
        shutil.rmtree(lake, ignore_errors=True)
        report["generate"] = measure([SOXAUTO, "lake", "generate", "--out", str(lake), "--scale", str(args.scale),
                                      "--seed", str(args.seed), "--periods", str(args.periods)])
        print(f"generate: {report['generate']['wall_seconds']} s, peak {report['generate']['peak_rss_mib']} MiB")

    truth = json.loads((lake / "ground_truth.json").read_text())
    report["rows"] = truth.get("row_counts") or truth.get("generator", {}).get("row_counts")
    with tempfile.TemporaryDirectory() as out:
        report["check"] = measure([SOXAUTO, "lake", "check", str(lake)])
        print(f"lake check: {report['check']['wall_seconds']} s, peak {report['check']['peak_rss_mib']} MiB")
        report["extract_all"] = measure([SOXAUTO, "extract-all", "--lake", str(lake), "--out", out, "--json"])
        files = list(Path(out).glob("*.parquet"))
        report["extract_all"]["extracts"] = len(files)
        report["extract_all"]["bytes_written"] = sum(f.stat().st_size for f in files)
    e = report["extract_all"]
    print(f"extract-all: {e['extracts']} extracts in {e['wall_seconds']} s, peak {e['peak_rss_mib']} MiB "
          f"(targets at scale 1: <= 60 s, <= 4096 MiB)")
    out_file = ROOT / "bench" / "results" / "extract_all.json"
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
