"""Resume after a crash: a close killed with SIGKILL at random (seeded) moments, then resumed,
gives exactly the reconciliation figures and package fingerprints of an uninterrupted close;
Ctrl-C (SIGINT) exits 130 and leaves a run that resumes the same way."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from closekit import figures, fingerprints, make_lake, read_json

from soxauto.close.store import RunStore
from soxauto.evidence import trusted_keys, verify_store

HERE = Path(__file__).resolve().parent
ENTITIES = ("HF_SN", "JD_UG")  # two small entities: two workers, 26 evidence steps, 2 reconciliations
KILLS = 10
MAX_TRIALS = 20
STARTED = re.compile(r"close 2025-09 run (\S+)(?: \(resumed\))?: \d+ entities, (\d+) evidence steps and (\d+) reconciliations")


class Zygote:
    def __init__(self, tmp: Path, **settings: str):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parent)]), **settings)
        self.proc = subprocess.Popen([sys.executable, str(HERE / "closekit.py")], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.proc.stdout.readline().strip() == "ready"
        self.tmp = tmp
        self.n = 0

    def start(self, home: Path, *argv: str) -> tuple[int, Path, Path]:
        self.n += 1
        out, err = self.tmp / f"out{self.n}.txt", self.tmp / f"err{self.n}.txt"
        self.proc.stdin.write(" ".join([str(home), str(out), str(err), *argv]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().split()
        assert line[0] == "pid", line
        return int(line[1]), out, err

    def result(self) -> int:
        line = self.proc.stdout.readline().split()
        assert line[0] == "exit", line
        return int(line[1])

    def run(self, home: Path, *argv: str) -> tuple[int, Path, Path]:
        _, out, err = self.start(home, *argv)
        return self.result(), out, err

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def wait_for_start(err: Path, timeout: float = 30) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = STARTED.search(err.read_text()) if err.exists() else None
        if m:
            return m
        time.sleep(0.005)
    raise AssertionError(f"the close did not start: {err.read_text() if err.exists() else ''}")


def assert_same_as_baseline(summary: dict, baseline: dict, home: Path) -> None:
    assert summary["status"] == "completed" and summary["exit_code"] == baseline["exit_code"]
    assert figures(summary["reconciliation"]) == figures(baseline["reconciliation"])
    assert fingerprints(summary) == fingerprints(baseline)
    assert all(s["status"] == "done" for s in summary["steps"])
    report = verify_store(home / "evidence", trusted_keys(home / "evidence"))
    assert report.ok, report.to_dict()["problems"]
    assert not report.ignored, report.ignored  # no spool or temporary folder of the killed run is left
    on_disk = read_json(Path(summary["reports"]["reconciliation"]))
    assert figures(on_disk) == figures(baseline["reconciliation"])


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_result(tmp_path):
    lake = make_lake(tmp_path / "lake")
    common = ["--lake", str(lake), "--period", "2025-09", "--entities", *ENTITIES, "--json", "-j", "2"]
    # Extracts over 20 rows stream to spool files: kills land in those writes too.
    zygote = Zygote(tmp_path, SOXAUTO_SPOOL_ROWS="20")
    try:
        t0 = time.monotonic()
        code, out, _ = zygote.run(tmp_path / "base", "close", *common)
        span = time.monotonic() - t0
        baseline = read_json(out)
        assert code == baseline["exit_code"] and len(fingerprints(baseline)) == 26
        assert sum((s["rows"] or 0) > 20 for s in baseline["steps"] if s["stage"] == "evidence") >= 4  # spooled
        rnd = random.Random(20250930)
        partial = killed = 0
        for trial in range(MAX_TRIALS):
            if killed == KILLS:
                break
            home = tmp_path / f"home{trial}"
            pid, _, err = zygote.start(home, "close", *common)
            run_id = wait_for_start(err).group(1)
            time.sleep(rnd.uniform(0.0, span * 0.7))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it finished first: not a kill, draw another moment
            code = zygote.result()
            assert code in (-9, baseline["exit_code"]), (trial, code)
            if code != -9:
                continue
            killed += 1
            code, out, err = zygote.run(home, "close", "--resume", run_id, "--json")
            summary = read_json(out)
            assert code == baseline["exit_code"], err.read_text()
            assert summary["run_id"] == run_id and summary["attempts"] == 2
            assert_same_as_baseline(summary, baseline, home)
            todo = int(wait_for_start(err).group(2))
            partial += 0 < todo < 26  # the resume skipped the steps the killed run had finished
            runs = RunStore(f"sqlite:///{home / 'runs.sqlite'}")
            assert [r["id"] for r in runs.runs()] == [run_id]
            runs.close()
        assert killed == KILLS
        assert partial >= 1, "some kills should land part way through a close (test_close_run proves the skipping exactly)"
    finally:
        zygote.stop()


def test_ctrl_c_exits_130_and_leaves_a_resumable_run(tmp_path):
    lake = make_lake(tmp_path / "lake")
    common = ["--lake", str(lake), "--period", "2025-09", "--entities", *ENTITIES]
    zygote = Zygote(tmp_path)
    try:
        code, out, _ = zygote.run(tmp_path / "base", "close", *common, "--json")
        baseline = read_json(out)
        home = tmp_path / "home"
        pid, out, err = zygote.start(home, "--closekit-gate=3", "close", *common)
        run_id = wait_for_start(err).group(1)
        deadline = time.monotonic() + 60
        while err.read_text().count("\nevidence ") < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(pid, signal.SIGINT)
        assert zygote.result() == 130
        text = err.read_text()
        assert f"soxauto close --resume {run_id}" in text and "interrupted" in text
        runs = RunStore(f"sqlite:///{home / 'runs.sqlite'}")
        run = runs.run(run_id)
        steps = runs.steps(run_id)
        assert run["status"] == "interrupted"
        done = sum(s["status"] == "done" for s in steps if s["stage"] == "evidence")
        assert 3 <= done < 26 and not any(s["status"] == "running" for s in steps)  # workers finished their step
        from soxauto.close import lock

        assert lock.holders(runs.engine) == []  # an interrupted close releases its locks
        runs.close()
        code, out, err = zygote.run(home, "close", "--resume", run_id, "--json")
        assert code == baseline["exit_code"], err.read_text()
        summary = read_json(out)
        assert int(wait_for_start(err).group(2)) == 26 - done
        assert_same_as_baseline(summary, baseline, home)
    finally:
        zygote.stop()
