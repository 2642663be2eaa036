"""Benchmark (issue 24): what reconciling items cost a close, side by side with an earlier tree.

Target: at scale 1, the close with clearing and ageing costs at most 15 % more than the close
before reconciling items, both run in one sitting on one machine. Each version gets its own
product home; the month before the measured period is closed once first (not timed), so the
measured close reads last month's items file for ages and roll-forward, as a real close does.
Then the measured period is closed ``--pairs`` times per version, alternating (baseline,
current, baseline, ...), each close a child process (``soxauto close --json``) timed with its
wall time and CPU (user + system, from ``wait4``). Medians, the ratios and the load average go to
stdout::

    git worktree add /tmp/before 5ad767c
    .venv/bin/python bench/items.py --lake /tmp/lake1 --baseline /tmp/before/src --period 2025-09

The baseline runs with the same interpreter and packages, its source tree first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def run_close(src: Path, home: Path, lake: Path, period: str) -> dict:
    env = dict(os.environ, SOXAUTO_HOME=str(home), PYTHONPATH=str(src))
    argv = [str(PYTHON), "-c", "from soxauto.cli import main; main()", "close", "--lake", str(lake), "--period", period, "--json"]
    t0 = time.perf_counter()
    with open(home / "close.out", "wb") as out, open(home / "close.err", "wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code > 2:
        raise SystemExit(f"close {period} with {src} exited {code}: {(home / 'close.err').read_text()[-2000:]}")
    return {"wall": time.perf_counter() - t0, "cpu": usage.ru_utime + usage.ru_stime, "exit": code}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", type=Path, required=True)
    ap.add_argument("--baseline", type=Path, required=True, help="src folder of the earlier tree")
    ap.add_argument("--period", default="2025-09")
    ap.add_argument("--previous", default=None, help="the month closed first, untimed (default: the one before --period)")
    ap.add_argument("--pairs", type=int, default=2)
    args = ap.parse_args()
    from soxauto.period import Period

    period = Period.parse(args.period)
    previous = args.previous or str(period.previous())
    versions = {"baseline": args.baseline.resolve(), "current": (ROOT / "src").resolve()}
    homes = {k: Path(tempfile.mkdtemp(prefix=f"soxauto-bench-{k}-")) for k in versions}
    try:
        for name, src in versions.items():
            run_close(src, homes[name], args.lake, previous)
        got: dict[str, list[dict]] = {k: [] for k in versions}
        for n in range(args.pairs):
            for name, src in versions.items():
                r = run_close(src, homes[name], args.lake, str(period))
                got[name].append(r)
                print(f"pair {n + 1} {name:8s} wall {r['wall']:6.1f} s  cpu {r['cpu']:6.1f} s  exit {r['exit']}  "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)
        med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu")} for k, v in got.items()}
        ratio = {m: med["current"][m] / med["baseline"][m] for m in ("wall", "cpu")}
        print(json.dumps({"lake": str(args.lake), "period": str(period), "pairs": args.pairs, "medians": med,
                          "ratio_current_over_baseline": ratio, "loadavg": os.getloadavg()}, indent=2))
    finally:
        for home in homes.values():
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
