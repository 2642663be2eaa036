"""Crash safety: extractions killed with SIGKILL at random (seeded) moments never leave a
package that verifies as valid without being committed; a rerun completes everything and the
ledger has no duplicates and no gaps."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crashkit import JOBS, run_jobs
from evkit import make_lake

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.evidence import trusted_keys, verify_store
from soxauto.evidence.canonical import sha256_hex
from soxauto.evidence.store import temp_folders
from soxauto.lake.binding import lake_binding

KILLS = 20
MAX_TRIALS = 60
HERE = Path(__file__).resolve().parent


def ledger(store: Path) -> list[dict]:
    path = store / "ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1]]


def committed_hashes(store: Path) -> set[str]:
    return {e["manifest_sha256"] for e in ledger(store)}


def assert_no_half_package_is_valid(store: Path) -> None:
    report = verify_store(store, trusted_keys(store))
    committed = committed_hashes(store)
    for pkg in report.packages:
        if pkg.ok:
            names = {p.name for p in pkg.path.iterdir()}
            listed = {a.path for a in pkg.artifacts}
            assert {"manifest.json", "manifest.sig", "SHA256SUMS", "data.parquet"} <= names and names == listed
            assert sha256_hex((pkg.path / "manifest.json").read_bytes()) in committed, pkg.path
        assert not pkg.path.name.startswith(".tmp-")
    if any(not p.ok for p in report.packages):
        assert not report.ok


def assert_complete_and_chained(store: Path, expected_entries: int) -> None:
    report = verify_store(store, trusted_keys(store))
    assert report.ok, json.dumps(report.to_dict(), indent=1)[:3000]
    entries = ledger(store)
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))  # no gaps
    assert len({e["manifest_sha256"] for e in entries}) == len(entries)  # no duplicates
    assert len(entries) == expected_entries
    assert {e["evidence_id"] for e in entries} == {f"{i}_{c}_202509" for i, c in JOBS}
    assert temp_folders(store) == []
    assert all((store / f"{i}_{c}_202509" / "manifest.json").is_file() for i, c in JOBS)


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_valid_half_package(tmp_path, monkeypatch):
    for var in ("SOXAUTO_SIGNING_KEY", "SOXAUTO_SIGNING_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    lake, store = make_lake(tmp_path / "lake"), tmp_path / "evidence"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent)]))
    zygote = subprocess.Popen([sys.executable, str(HERE / "crashkit.py"), str(lake), str(store)], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    rnd = random.Random(20250930)
    catalog = load_catalog()
    killed = 0
    seen: list[tuple[bool, bool]] = []  # (temporary folder left, store not valid) per trial
    try:
        assert zygote.stdout.readline().strip() == "ready"

        def trial(delay: float | None) -> int:
            zygote.stdin.write("go\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline().split()[1])
            if delay is not None:
                time.sleep(delay)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return int(zygote.stdout.readline().split()[1])

        runs = []
        for n in range(3):  # full runs: the shortest is the kill window (the first one is warming up)
            t0 = time.perf_counter()
            assert trial(None) == 0
            runs.append(time.perf_counter() - t0)
            assert_complete_and_chained(store, len(JOBS) * (n + 1))
        window = min(runs)
        with connect(lake_binding(lake)) as engine:
            # Trials go on until KILLS workers died mid-run (a worker that finished first is a
            # harmless extra trial); the bound keeps a very slow machine from looping for ever.
            for _ in range(MAX_TRIALS):
                if killed >= KILLS:
                    break
                before = len(ledger(store))
                code = trial(rnd.uniform(0.0, 0.9) * window)
                killed += code == -signal.SIGKILL
                assert code in (0, -signal.SIGKILL)
                assert_no_half_package_is_valid(store)
                seen.append((len(temp_folders(store)) > 0, not verify_store(store, trusted_keys(store)).ok))
                after_kill = len(ledger(store))
                assert before <= after_kill <= before + len(JOBS)  # only whole commits, never more
                run_jobs(engine, catalog, store)  # the rerun
                assert_complete_and_chained(store, after_kill + len(JOBS))
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
        zygote.stdout.close()
    assert killed >= KILLS
    print(f"{killed} kills; left a temporary folder {sum(t for t, _ in seen)}, an invalid store {sum(b for _, b in seen)}")
