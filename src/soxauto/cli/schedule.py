"""``soxauto schedule``: show when a rule runs the close, or run it (docs/schedule.md).

Modes: the next N run times (default); ``--run`` forever, closing each period once;
``--due-now`` exit 0 if a run is due now, else 1 (for cron or EventBridge); ``--period-for-now``
print the period the rule closes at this moment."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Optional

import typer

from ..close.schedule import Schedule, ScheduleState, load_holidays, parse_rule, run_loop, stamp, utc_now, zone
from ..errors import UsageError, did_you_mean
from ..home import home
from ..period import Period


def register(app: typer.Typer) -> None:
    @app.command("schedule")
    def schedule_cmd(
        rule: str = typer.Option(..., "--rule", envvar="SOXAUTO_SCHEDULE_RULE",
                                 help="'BD3 06:00' or a cron line '0 6 1-5 * *'; add period=previous|current|-N."),
        tz: str = typer.Option("UTC", "--tz", envvar="SOXAUTO_SCHEDULE_TZ", help="IANA time zone, e.g. Africa/Lagos."),
        holidays: Optional[str] = typer.Option(None, "--holidays", envvar="SOXAUTO_SCHEDULE_HOLIDAYS",
                                               help="Holiday file, or a calendar NAME for $SOXAUTO_HOME/holidays/NAME.txt."),
        count: int = typer.Option(5, "--next", min=1, max=1000, help="How many run times to show."),
        run: bool = typer.Option(False, "--run", help="Run forever: sleep to each run time and close its period."),
        due_now: bool = typer.Option(False, "--due-now", help="Exit 0 if a run is due now, else 1."),
        window: int = typer.Option(15, "--window", min=1, help="Minutes after a run time that --due-now still says due."),
        period_for_now: bool = typer.Option(False, "--period-for-now", help="Print the period the rule closes now."),
        close_args: Optional[list[str]] = typer.Argument(None, help="After --: extra arguments for `soxauto close`."),
    ) -> None:
        """Show the next run times of a close schedule, or run it (--run), or answer for cron (--due-now)."""
        if run + due_now + period_for_now > 1:
            raise UsageError("give at most one of --run, --due-now and --period-for-now")
        schedule = Schedule(parse_rule(rule), zone(tz), resolve_holidays(holidays) if holidays else frozenset())
        now = utc_now()
        if period_for_now:
            typer.echo(str(schedule.period_at(now)))
        elif due_now:
            at = schedule.due(now, timedelta(minutes=window))
            if at is None:
                at = schedule.next_after(now)
                typer.echo(f"not due: next run {schedule.local(at)} closes {schedule.period_at(at)}")
                raise typer.Exit(1)
            typer.echo(f"due: run of {schedule.local(at)} closes {schedule.period_at(at)}")
        elif run:
            key = " ".join([schedule.rule.text, "--", *close_args]) if close_args else schedule.rule.text
            raise typer.Exit(run_forever(schedule, key, CloseCommand(tuple(close_args or ()))))
        else:
            runs = schedule.upcoming(now, count)
            typer.echo(f"rule {schedule.rule.text}  zone {tz}  holidays {len(schedule.holidays)}")
            for at, period in runs:
                typer.echo(f"{schedule.local(at)}  {stamp(at)}  closes {period}")


def resolve_holidays(value: str) -> frozenset:
    path = Path(value)
    if path.is_file():
        return load_holidays(path)
    folder = home() / "holidays"
    if re.fullmatch(r"[A-Za-z0-9_-]+", value) and (folder / f"{value}.txt").is_file():
        return load_holidays(folder / f"{value}.txt")
    names = sorted(p.stem for p in folder.glob("*.txt"))
    raise UsageError(f"--holidays '{value}': no such file and no calendar {folder / (value + '.txt')}"
                     f"{did_you_mean(value, names)}; a holiday file lists one YYYY-MM-DD per line")


def log(message: str) -> None:
    typer.echo(f"{stamp(utc_now())} {message}", err=True)


def run_forever(schedule: Schedule, key: str, close: "CloseCommand") -> int:
    stopper = Stopper(close)
    previous = stopper.install()
    try:
        code = run_loop(schedule, close, key=key, state=ScheduleState(home() / "schedule.json"), log=log,
                        sleep=stopper.sleep, stopped=stopper.stopped)
    finally:
        Stopper.restore(previous)
    if code == 130:
        log(f"stopped by {signal.Signals(stopper.signum).name}")
    return code


class CloseCommand:
    """The default close: ``soxauto close --period P [args]`` in a child process.

    The child gets its own session so a terminal's Ctrl-C reaches only the scheduler, which
    forwards it once; the close then stops cleanly and stays resumable."""

    def __init__(self, args: tuple[str, ...] = (), argv: tuple[str, ...] | None = None):
        self.args = args
        self.argv = argv or (sys.executable, "-c", "from soxauto.cli import main; main()")
        self.child: subprocess.Popen | None = None

    def __call__(self, period: Period) -> int:
        self.child = subprocess.Popen([*self.argv, "close", "--period", str(period), *self.args],
                                      start_new_session=True)
        try:
            return self.child.wait()
        finally:
            self.child = None

    def forward(self, signum: int) -> None:
        if self.child is not None:
            self.child.send_signal(signum)


class _Wake(Exception):
    pass


class Stopper:
    """SIGINT/SIGTERM for the run loop: remember the signal, pass it to a running close, cut
    a nap short; the loop then returns 130 at its next safe point (never mid-record)."""

    def __init__(self, close: object = None):
        self.close = close
        self.signum: int | None = None
        self._napping = False

    def install(self) -> dict:
        return {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    @staticmethod
    def restore(previous: dict) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = signum
        forward = getattr(self.close, "forward", None)
        if forward is not None:
            forward(signum)
        if self._napping:
            raise _Wake

    def stopped(self) -> bool:
        return self.signum is not None

    def sleep(self, seconds: float) -> None:
        self._napping = True
        try:
            if self.signum is None:  # read after _napping is set, so no signal slips in between
                time.sleep(seconds)
            self._napping = False
        except _Wake:
            self._napping = False
