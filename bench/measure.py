"""Run a command as a child process and measure its wall time and peak memory (max RSS).

os.wait4 gives the child's own resource usage, so each figure belongs to one command only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def measure(argv: list[str], *, quiet: bool = True) -> dict:
    t0 = time.perf_counter()
    out = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE if quiet else None)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"command failed ({code}): {' '.join(argv)}\n{err}")
    return {"argv": argv, "wall_seconds": round(wall, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1:], quiet=False), indent=2))
