"""The child side of the crash test.

``python crashkit.py LAKE STORE`` starts a *zygote*: it imports everything and loads the
catalog once, prints ``ready``, then for every ``go`` line on stdin forks a worker that runs
``JOBS`` (extraction, tests, evidence) and prints ``pid N`` and, once the worker is gone,
``exit CODE`` (a negative code is the signal that ended it). Forking from a warm zygote keeps
each trial fast; the worker is an ordinary process that the test kills with SIGKILL."""

from __future__ import annotations

import os
import sys
from pathlib import Path

JOBS = [("CR_04", "EC_NG"), ("CR_04", "JM_EG"), ("CR_04", "EC_NG")]


def run_jobs(engine, catalog, store: Path) -> list:
    from soxauto.evidence.record import record
    from soxauto.period import Period

    return [record(engine, catalog, item, Period(2025, 9), entity, store=store).package for item, entity in JOBS]


def _worker(lake: Path, store: Path, catalog) -> None:
    from soxauto.engines import connect
    from soxauto.lake.binding import lake_binding

    with connect(lake_binding(lake)) as engine:
        run_jobs(engine, catalog, store)


def main(lake: str, store: str) -> None:
    import soxauto.engines.duckdb  # noqa: F401  (warm every import before forking)
    import soxauto.evidence.record  # noqa: F401
    from soxauto.catalog import load_catalog

    catalog = load_catalog()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _worker(Path(lake), Path(store), catalog)
            except BaseException as e:  # report, never fall back into the zygote's loop
                print(f"worker failed: {e!r}", file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
