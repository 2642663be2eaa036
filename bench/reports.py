"""Benchmark (issue 7): the reports of one closed period, read from the run store.

Target at scale 1: workbook + HTML report + lake write-back (Parquet + DuckDB views) + one
line PDF <= 20 s. Close the period first, e.g.::

    SOXAUTO_HOME=/tmp/h3home .venv/bin/soxauto close --lake /tmp/lake1 --period latest
    SOXAUTO_HOME=/tmp/h3home .venv/bin/python bench/reports.py [--run RUN_ID] [--out DIR]

Without --run the latest completed run is reported. Figures go to stdout and to
bench/results/reports.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from soxauto.close.store import RunStore
from soxauto.config import load_config
from soxauto.reports.html import write_html
from soxauto.reports.lake import export_lake
from soxauto.reports.model import load_run
from soxauto.reports.pdf import line_pdf
from soxauto.reports.workbook import write_workbook

TARGET_SECONDS = 20.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", help="run id (default: the latest completed run)")
    ap.add_argument("--out", type=Path, help="folder for the outputs (default: a temporary folder)")
    args = ap.parse_args()
    cfg = load_config()
    runs = RunStore(cfg.run_store)
    try:
        completed = [r for r in runs.runs() if r["status"] == "completed"]
        if not args.run and not completed:
            raise SystemExit(f"no completed close in {cfg.run_store}: close a period first (see this script's docstring)")
        run_id = args.run or completed[-1]["id"]
        out = args.out or Path(tempfile.mkdtemp(prefix="soxauto-bench-reports-"))
        timings: dict[str, float] = {}
        t = time.perf_counter()
        data = load_run(runs, run_id, Path(cfg.reports), Path(cfg.evidence_store))
        timings["load"] = time.perf_counter() - t
        steps = (("workbook", lambda: write_workbook(data, out / "workbook.xlsx")),
                 ("html", lambda: write_html(data, out / "report.html")),
                 ("lake_export", lambda: export_lake(data, out / "lake")),
                 ("line_pdf", lambda: line_pdf(data, data.lines[0]["entity"], data.lines[0]["line"], out / "line.pdf")))
        for name, step in steps:
            t = time.perf_counter()
            step()
            timings[name] = time.perf_counter() - t
    finally:
        runs.close()
    total = sum(timings.values())
    result = {"run_id": run_id, "period": data.period, "entities": len(data.run["entities"]), "lines": len(data.lines),
              "items": data.items().num_rows, "validation_results": len(data.validation),
              "seconds": {k: round(v, 2) for k, v in timings.items()}, "total_seconds": round(total, 2),
              "target_seconds": TARGET_SECONDS, "within_target": total <= TARGET_SECONDS,
              "outputs": str(out), "python": platform.python_version(), "machine": platform.machine()}
    print(json.dumps(result, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "reports.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["within_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
