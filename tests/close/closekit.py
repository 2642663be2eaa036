"""Helpers for the close tests: small generated lakes, the close CLI in-process and as a child
process, and what two runs must agree on (reconciliation figures, package fingerprints).

``python closekit.py`` is a *zygote* for the kill tests: it imports everything once, prints
``ready``, then for every line ``HOME OUT ERR ARGS...`` on stdin forks a child that runs
``soxauto ARGS`` with ``SOXAUTO_HOME=HOME``, stdout to OUT and stderr to ERR, and prints ``pid N``, then ``exit CODE``
once the child is gone (a negative code is the signal that ended it). Forking from a warm
process, with the catalog and pack loaded once, keeps each trial to the close itself instead
of seconds of imports and catalog checks.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

SIGNED = ("gl_amount", "tv_amount", "variance_lcy", "unexplained_lcy", "unexplained_usd", "status", "reason")


def make_lake(root: Path, *, first=(2025, 9), periods: int = 1, seed: int = 11) -> Path:
    from lakekit import generated

    from soxauto.period import Period

    if not (root / "ground_truth.json").exists():
        generated(root, scale=0.01, seed=seed, first_period=Period(*first), periods=periods)
    return root


def pg_database(server_url: str, name: str) -> str:
    """A fresh database on the test server (tests share the server, not their tables)."""
    import sqlalchemy as sa

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text("DROP DATABASE IF EXISTS " + name))  # a fixed identifier from the test, not a value
        con.execute(sa.text("CREATE DATABASE " + name))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def figures(doc: dict) -> dict:
    """Per (entity, line): the reconciliation figures and every bridge, as decimal strings."""
    return {(ln["entity"], ln["line"]): {**{k: ln[k] for k in SIGNED},
                                        "bridges": {b: v["amount_lcy"] for b, v in ln["bridges"].items()},
                                        "key_level": ln["key_level"]} for ln in doc["lines"]}


def fingerprints(summary: dict) -> dict[str, str]:
    return {s["evidence_id"]: s["fingerprint"] for s in summary["steps"] if s["stage"] == "evidence"}


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text("utf-8"))


def zygote() -> None:
    import soxauto.close.run as close_run  # warm every import before forking
    import soxauto.engines.duckdb  # noqa: F401
    from soxauto.catalog import load_catalog as load
    from soxauto.cli import run
    from soxauto.recon import load_pack

    # Loading and checking the catalog and pack takes seconds; every child reads the same ones.
    catalog = close_run.load_catalog(None)
    pack = close_run.load_pack(None, catalog)
    close_run.load_catalog = lambda folder: catalog if folder is None else load(folder)
    close_run.load_pack = lambda folder, cat: pack if folder is None else load_pack(folder, cat)

    # A process started in the background of a non-interactive shell inherits SIGINT ignored,
    # and Python then installs no handler: restore the default so Ctrl-C means KeyboardInterrupt.
    import signal

    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("ready", flush=True)
    for line in sys.stdin:
        args = shlex.split(line)
        if not args:
            break
        home, out, err, argv = args[0], args[1], args[2], args[3:]
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if argv and argv[0].startswith("--closekit-gate="):
                    gate(int(argv.pop(0).split("=", 1)[1]))
                os.environ["SOXAUTO_HOME"] = home
                fo, fe = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(fo, 1)
                os.dup2(fe, 2)
                sys.stdout = open(1, "w", buffering=1, closefd=False)
                sys.stderr = open(2, "w", buffering=1, closefd=False)
                code = run(argv)
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


def gate(after: int) -> None:
    """In a forked child: every evidence package after the first ``after`` waits until the close
    has taken the interrupt (its cancel event is set), so a Ctrl-C sent once ``after`` packages
    are done always lands part way through the run, however fast the machine is."""
    import threading
    import time

    import soxauto.close.entity as entity

    original, lock, calls = entity._package, threading.Lock(), [0]

    def gated(ctx, *args, **kwargs):
        with lock:
            calls[0] += 1
            mine = calls[0]
        deadline = time.monotonic() + 60  # a lost interrupt fails the test instead of hanging it
        while mine > after and not ctx.cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.005)
        return original(ctx, *args, **kwargs)

    entity._package = gated


if __name__ == "__main__":
    zygote()
