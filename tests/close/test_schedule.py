"""``soxauto schedule``: the rule language, run times across month ends, weekends, holidays,
DST and leap years, and the run loop (frozen time, fake close, no real sleeping)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine

from soxauto.cli import run
from soxauto.cli.schedule import CloseCommand, Stopper
from soxauto.close.schedule import Schedule, ScheduleState, load_holidays, parse_rule, run_loop, zone
from soxauto.errors import UsageError
from soxauto.period import Period

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def runs(rule: str, after: datetime, count: int, tz: str = "UTC", holidays=frozenset()) -> list[tuple[str, str]]:
    schedule = Schedule(parse_rule(rule), zone(tz), frozenset(holidays))
    return [(at.strftime("%Y-%m-%dT%H:%MZ"), str(p)) for at, p in schedule.upcoming(after, count)]


# --- run times -----------------------------------------------------------------------------

def test_business_day_3_skips_weekends_and_closes_the_previous_month_across_the_year_end():
    # Oct 2025 starts Wed (BD3 Fri 3); Nov starts Sat (BD3 Wed 5); Dec starts Mon (BD3 Wed 3);
    # Jan 2026 starts Thu (1 Thu, 2 Fri, 5 Mon)
    assert runs("BD3 06:00", utc(2025, 9, 25, 12), 4) == [
        ("2025-10-03T06:00Z", "2025-09"),
        ("2025-11-05T06:00Z", "2025-10"),
        ("2025-12-03T06:00Z", "2025-11"),
        ("2026-01-05T06:00Z", "2025-12"),
    ]


def test_holidays_push_the_business_day_later():
    new_year = {date(2026, 1, 1)}
    assert runs("BD3 06:00", utc(2025, 12, 31), 1, holidays=new_year) == [("2026-01-06T06:00Z", "2025-12")]
    # BD-1 is the last business day: Fri 31 Oct 2025, or Thu 30 when the 31st is a holiday
    assert runs("BD-1 18:00 period=current", utc(2025, 10, 1), 1) == [("2025-10-31T18:00Z", "2025-10")]
    assert runs("BD-1 18:00 period=current", utc(2025, 10, 1), 1, holidays={date(2025, 10, 31)}) == [
        ("2025-10-30T18:00Z", "2025-10")]


def test_a_run_exactly_at_the_start_time_is_not_returned_again():
    assert runs("BD3 06:00", utc(2025, 10, 3, 6), 1) == [("2025-11-05T06:00Z", "2025-10")]


def test_lagos_wall_time_and_the_local_month_decide_the_period():
    # Lagos is UTC+1 all year: 06:00 WAT is 05:00Z
    assert runs("BD3 06:00", utc(2025, 9, 25), 1, tz="Africa/Lagos") == [("2025-10-03T05:00Z", "2025-09")]
    # 00:30 WAT on 1 October is still 30 September in UTC: the local month (October) counts
    assert runs("30 0 1 * *", utc(2025, 9, 15), 1, tz="Africa/Lagos") == [("2025-09-30T23:30Z", "2025-09")]


def test_paris_spring_forward_runs_a_missing_wall_time_one_gap_later():
    # 30 March 2025: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist and runs at 03:30 CEST
    assert runs("30 2 * * *", utc(2025, 3, 29), 3, tz="Europe/Paris") == [
        ("2025-03-29T01:30Z", "2025-02"),
        ("2025-03-30T01:30Z", "2025-02"),
        ("2025-03-31T00:30Z", "2025-02"),
    ]


def test_paris_fall_back_runs_a_repeated_wall_time_once():
    # 26 October 2025: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice, runs at the first
    assert runs("30 2 * * *", utc(2025, 10, 25), 3, tz="Europe/Paris") == [
        ("2025-10-25T00:30Z", "2025-09"),
        ("2025-10-26T00:30Z", "2025-09"),
        ("2025-10-27T01:30Z", "2025-09"),
    ]


def test_paris_business_day_3_keeps_06_00_local_on_both_sides_of_dst():
    # BD3: Wed 5 March 2025 (CET, UTC+1), Thu 3 April 2025 (CEST, UTC+2)
    assert runs("BD3 06:00", utc(2025, 3, 1), 2, tz="Europe/Paris") == [
        ("2025-03-05T05:00Z", "2025-02"),
        ("2025-04-03T04:00Z", "2025-03"),
    ]


def test_leap_years():
    assert runs("0 0 29 2 *", utc(2025, 1, 1), 2) == [("2028-02-29T00:00Z", "2028-01"),
                                                     ("2032-02-29T00:00Z", "2032-01")]
    # 2100 is not a leap year: the next 29 February after 2096 is in 2104
    assert runs("0 0 29 2 *", utc(2096, 3, 1), 1) == [("2104-02-29T00:00Z", "2104-01")]
    # the last business day of February 2024 is Thu 29, of February 2025 Fri 28
    assert runs("BD-1 12:00 period=current", utc(2024, 2, 1), 2) == [
        ("2024-02-29T12:00Z", "2024-02"), ("2024-03-29T12:00Z", "2024-03")]
    assert runs("BD-1 12:00 period=current", utc(2025, 2, 1), 1) == [("2025-02-28T12:00Z", "2025-02")]


def test_cron_fields_lists_ranges_steps_and_names():
    assert runs("5/20 9 1,15 * *", utc(2025, 6, 1), 4) == [
        ("2025-06-01T09:05Z", "2025-05"), ("2025-06-01T09:25Z", "2025-05"),
        ("2025-06-01T09:45Z", "2025-05"), ("2025-06-15T09:05Z", "2025-05")]
    # 7 and SUN are both Sunday; JUN-JUL restricts the months: Sundays in June 2025 are 1, 8, ...
    assert runs("0 12 * jun-jul 7", utc(2025, 5, 30), 2) == [("2025-06-01T12:00Z", "2025-05"),
                                                             ("2025-06-08T12:00Z", "2025-05")]
    assert runs("0 12 * 6 SUN", utc(2025, 5, 30), 1) == [("2025-06-01T12:00Z", "2025-05")]
    assert runs("*/30 8-9/1 2 6 *", utc(2025, 6, 1), 5)[-1] == ("2026-06-02T08:00Z", "2026-05")


def test_both_day_fields_restricted_match_either_as_in_cron():
    # June 2025: Fridays 6, 13, 20; the 13th is also a Friday; '*' in a day field means AND
    assert runs("0 6 13 * FRI", utc(2025, 6, 1), 3) == [
        ("2025-06-06T06:00Z", "2025-05"), ("2025-06-13T06:00Z", "2025-05"), ("2025-06-20T06:00Z", "2025-05")]
    assert runs("0 6 1-10 * MON", utc(2025, 6, 1), 3) == [
        ("2025-06-01T06:00Z", "2025-05"), ("2025-06-02T06:00Z", "2025-05"), ("2025-06-03T06:00Z", "2025-05")]
    # '*/10' starts with '*', so AND: days 1, 11, 21, 31 that are Mondays (21 Jul, 11 Aug 2025)
    assert runs("0 6 */10 * 1", utc(2025, 6, 1), 2) == [("2025-07-21T06:00Z", "2025-06"),
                                                        ("2025-08-11T06:00Z", "2025-07")]


def test_canonical_text_and_period_choice():
    assert parse_rule("bd3   6:00").text == "BD3 06:00"
    assert parse_rule("BD3 06:00 period=previous").text == "BD3 06:00"
    assert parse_rule("BD3 06:00 period=Current").text == "BD3 06:00 period=current"
    assert parse_rule("@monthly period=-2").text == "@monthly period=-2"
    assert runs("@monthly period=-2", utc(2025, 1, 15), 1) == [("2025-02-01T00:00Z", "2024-12")]
    assert runs("BD1 07:15 period=current", utc(2025, 1, 15), 1) == [("2025-02-03T07:15Z", "2025-02")]


# --- bad rules -----------------------------------------------------------------------------

@pytest.mark.parametrize("rule, message", [
    ("", "bad schedule rule ''\n  no run time; write a cron line such as '0 6 * * *' or a business-day rule "
         "such as 'BD3 06:00'"),
    ("DB3 06:00", "bad schedule rule 'DB3 06:00'\n  'DB3' is not a rule start; did you mean 'BD3'? (BD<n> HH:MM)"),
    ("BD3 6h", "bad schedule rule 'BD3 6h'\n  6h: not a time of day; write HH:MM in 24-hour form, e.g. 06:00"),
    ("BD0 06:00", "bad schedule rule 'BD0 06:00'\n  BD0: business days count 1 to 23 from the start of the month "
                  "(BD1 is the first) or -1 to -23 from its end (BD-1 is the last)"),
    ("BD 3 06:00", "bad schedule rule 'BD 3 06:00'\n  BD: write the business day as one word, e.g. BD3 "
                   "(BD-1 is the last)"),
    ("BD3 06:00 perod=previous", "bad schedule rule 'BD3 06:00 perod=previous'\n  perod=previous: unknown "
                                 "setting 'perod'; did you mean 'period'?"),
    ("0 6 * *", "bad schedule rule '0 6 * *'\n  a cron line has 5 fields (minute hour day-of-month month "
                "day-of-week), got 4; write a cron line such as '0 6 * * *' or a business-day rule such as "
                "'BD3 06:00'"),
    ("0 60 0 13 8", "bad schedule rule '0 60 0 13 8'\n"
                    "  field 2 (hour) '60': 60 is out of range 0-23\n"
                    "  field 3 (day-of-month) '0': 0 is out of range 1-31\n"
                    "  field 4 (month) '13': 13 is out of range 1-12\n"
                    "  field 5 (day-of-week) '8': 8 is out of range 0-7"),
    ("0 6 5-1 * */0", "bad schedule rule '0 6 5-1 * */0'\n"
                      "  field 3 (day-of-month) '5-1': range 5-1 runs backwards; cron ranges do not wrap\n"
                      "  field 5 (day-of-week) '*/0': step '0' must be a whole number of 1 or more"),
    ("0 6 1 JNU MON", "bad schedule rule '0 6 1 JNU MON'\n  field 4 (month) 'JNU': 'JNU' is not a number 1-12 "
                      "or a name (JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC); did you mean 'JUN'?"),
    ("@daily 06:00", "bad schedule rule '@daily 06:00'\n  '@daily 06:00' is not a macro (one of @yearly, "
                     "@annually, @monthly, @weekly, @daily, @midnight, @hourly)"),
])
def test_bad_rules_say_what_and_how_to_fix(rule, message):
    with pytest.raises(UsageError) as e:
        parse_rule(rule)
    assert str(e.value) == message


def test_a_rule_that_never_runs_and_an_unknown_zone_are_usage_errors(capsys):
    with time_machine.travel(utc(2025, 9, 25), tick=False):
        assert run(["schedule", "--rule", "0 0 30 2 *"]) == 3
        assert run(["schedule", "--rule", "BD3 06:00", "--tz", "Africa/Lagso"]) == 3
    err = capsys.readouterr().err
    assert "error: schedule rule '0 0 30 2 *' never runs in the 9 years after 2025-09-25" in err
    assert "error: unknown time zone 'Africa/Lagso'; did you mean 'Africa/Lagos'?" in err


def test_holiday_file_errors_name_the_line(tmp_path: Path):
    path = tmp_path / "NG.txt"
    path.write_text("# Nigeria\n2025-10-01 Independence Day\n\n2025-02-30\n1 Oct 2025\n", encoding="utf-8")
    with pytest.raises(UsageError) as e:
        load_holidays(path)
    assert str(e.value) == (f"bad holiday file {path}\n  {path}:4: '2025-02-30' is not a calendar date\n"
                            f"  {path}:5: '1' is not a date of the form YYYY-MM-DD")


# --- the command ---------------------------------------------------------------------------

def test_next_runs_in_lagos_with_a_named_holiday_calendar(isolated_home: Path, capsys):
    (isolated_home / "holidays").mkdir()
    (isolated_home / "holidays" / "NG.txt").write_text("2025-10-01  Independence Day\n", encoding="utf-8")
    with time_machine.travel(utc(2025, 9, 25, 12), tick=False):
        assert run(["schedule", "--rule", "BD3 06:00", "--tz", "Africa/Lagos", "--holidays", "NG", "--next", "2"]) == 0
        assert run(["schedule", "--rule", "BD3 06:00", "--holidays", "NGA"]) == 3
    out, err = capsys.readouterr()
    # 1 October is a holiday: BD1 Thu 2, BD2 Fri 3, BD3 Mon 6
    assert out == ("rule BD3 06:00  zone Africa/Lagos  holidays 1\n"
                   "2025-10-06 Mon 06:00 WAT  2025-10-06T05:00:00Z  closes 2025-09\n"
                   "2025-11-05 Wed 06:00 WAT  2025-11-05T05:00:00Z  closes 2025-10\n")
    assert "--holidays 'NGA': no such file and no calendar" in err
    assert "did you mean 'NG'?" in err


@pytest.mark.parametrize("now, code, out", [
    (utc(2025, 10, 3, 4, 59), 1, "not due: next run 2025-10-03 Fri 06:00 WAT closes 2025-09\n"),
    (utc(2025, 10, 3, 5, 0), 0, "due: run of 2025-10-03 Fri 06:00 WAT closes 2025-09\n"),
    (utc(2025, 10, 3, 5, 14), 0, "due: run of 2025-10-03 Fri 06:00 WAT closes 2025-09\n"),
    (utc(2025, 10, 3, 5, 15), 1, "not due: next run 2025-11-05 Wed 06:00 WAT closes 2025-10\n"),
])
def test_due_now_for_cron(now, code, out, capsys):
    with time_machine.travel(now, tick=False):
        assert run(["schedule", "--rule", "BD3 06:00", "--tz", "Africa/Lagos", "--due-now"]) == code
    assert capsys.readouterr().out == out


def test_period_for_now_and_exclusive_modes(capsys):
    with time_machine.travel(utc(2025, 10, 3, 5, 10), tick=False):
        assert run(["schedule", "--rule", "BD3 06:00", "--tz", "Africa/Lagos", "--period-for-now"]) == 0
        assert run(["schedule", "--rule", "BD3 06:00 period=current", "--period-for-now"]) == 0
        assert run(["schedule", "--rule", "BD3 06:00", "--run", "--due-now"]) == 3
    out, err = capsys.readouterr()
    assert out == "2025-09\n2025-10\n"
    assert "give at most one of --run, --due-now and --period-for-now" in err


# --- the run loop --------------------------------------------------------------------------

class FakeClose:
    def __init__(self, codes: dict[str, int] | None = None):
        self.calls: list[tuple[str, str]] = []
        self.codes = codes or {}

    def __call__(self, period: Period) -> int:
        self.calls.append((str(period), datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")))
        code = self.codes.get(str(period), 0)
        if code < 0:
            raise RuntimeError("engine went away")
        return code


def loop(rule: str, start: datetime, until: datetime, close, state: ScheduleState, **kw) -> tuple[int, list[str]]:
    lines: list[str] = []
    with time_machine.travel(start, tick=False) as traveller:
        code = run_loop(Schedule(parse_rule(rule)), close, key=parse_rule(rule).text, state=state,
                        log=lines.append, sleep=lambda s: traveller.shift(timedelta(seconds=s)),
                        until=until, **kw)
    return code, lines


def test_the_loop_closes_each_period_once_though_the_rule_fires_five_times_a_month(tmp_path: Path):
    close, state = FakeClose(), ScheduleState(tmp_path / "schedule.json")
    code, lines = loop("0 6 1-5 * *", utc(2025, 1, 1), utc(2025, 4, 1), close, state, nap=3600)
    assert code == 0
    assert close.calls == [("2024-12", "2025-01-01T06:00:00Z"), ("2025-01", "2025-02-01T06:00:00Z"),
                           ("2025-02", "2025-03-01T06:00:00Z")]
    assert sum(line.startswith("skip ") for line in lines) == 12  # days 2-5 of each month
    assert json.loads(state.path.read_text()) == {"version": 1, "schedules": {"0 6 1-5 * *": {
        "period": "2025-02", "scheduled_at": "2025-03-01T06:00:00Z", "started_at": "2025-03-01T06:00:00Z",
        "finished_at": "2025-03-01T06:00:00Z", "exit_code": 0}}}


def test_a_restart_does_not_close_a_period_again(tmp_path: Path):
    state = ScheduleState(tmp_path / "schedule.json")
    state.record("0 6 1-5 * *", {"period": "2025-02", "scheduled_at": "2025-03-01T06:00:00Z",
                                 "started_at": "2025-03-01T06:00:00Z", "finished_at": None, "exit_code": None})
    close = FakeClose()
    code, lines = loop("0 6 1-5 * *", utc(2025, 3, 3, 7), utc(2025, 4, 2), close, state)
    assert (code, close.calls) == (0, [("2025-03", "2025-04-01T06:00:00Z")])
    assert lines[1] == f"skip 2025-02: rule '0 6 1-5 * *' already closed it (see {state.path})"


def test_a_failed_close_is_recorded_not_retried_and_the_next_period_still_runs(tmp_path: Path):
    close, state = FakeClose({"2025-01": 4, "2025-02": -1}), ScheduleState(tmp_path / "schedule.json")
    code, lines = loop("BD3 06:00", utc(2025, 1, 31), utc(2025, 4, 30), close, state, nap=86400)
    # BD3: Wed 5 Feb, Wed 5 Mar, Thu 3 Apr 2025
    assert close.calls == [("2025-01", "2025-02-05T06:00:00Z"), ("2025-02", "2025-03-05T06:00:00Z"),
                           ("2025-03", "2025-04-03T06:00:00Z")]
    assert "closed 2025-01: exit 4" in lines
    assert "close of 2025-02 failed: RuntimeError: engine went away" in lines
    assert "closed 2025-02: exit 4" in lines
    assert state.last("BD3 06:00")["exit_code"] == 0


def test_the_loop_stops_with_130_at_its_next_safe_point(tmp_path: Path):
    close = FakeClose()
    stop = lambda: len(close.calls) >= 1  # noqa: E731
    code, _ = loop("BD3 06:00", utc(2025, 1, 31), utc(2025, 12, 31), close, ScheduleState(tmp_path / "s.json"),
                   stopped=stop, nap=86400)
    assert (code, close.calls) == (130, [("2025-01", "2025-02-05T06:00:00Z")])


def test_sigterm_during_a_close_is_forwarded_and_ends_the_loop(tmp_path: Path):
    class Signalled(FakeClose):
        def __init__(self):
            super().__init__()
            self.forwarded: list[int] = []

        def __call__(self, period):
            os.kill(os.getpid(), signal.SIGTERM)
            return super().__call__(period)

        def forward(self, signum):
            self.forwarded.append(signum)

    close = Signalled()
    stopper = Stopper(close)
    previous = stopper.install()
    try:
        code, _ = loop("BD3 06:00", utc(2025, 1, 31), utc(2025, 12, 31), close,
                       ScheduleState(tmp_path / "s.json"), stopped=stopper.stopped, nap=86400)
    finally:
        Stopper.restore(previous)
    assert (code, close.forwarded, len(close.calls)) == (130, [signal.SIGTERM], 1)
    assert signal.getsignal(signal.SIGTERM) is previous[signal.SIGTERM]


def test_a_signal_cuts_a_nap_short():
    stopper = Stopper()
    previous = stopper.install()
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    try:
        started = time.monotonic()
        timer.start()
        stopper.sleep(30)
        assert time.monotonic() - started < 10
        assert stopper.stopped() and stopper.signum == signal.SIGINT
        stopper.sleep(30)  # already stopped: returns at once
        assert time.monotonic() - started < 10
    finally:
        timer.cancel()
        Stopper.restore(previous)


def test_the_default_close_runs_soxauto_close_with_the_period_and_extra_args(capfd):
    close = CloseCommand(("--lake", "demo-lake"), argv=(sys.executable, "-c",
                                                         "import sys; print(sys.argv[1:]); sys.exit(3)"))
    assert close(Period(2025, 9)) == 3
    assert capfd.readouterr().out == "['close', '--period', '2025-09', '--lake', 'demo-lake']\n"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_mode_exits_130_on_sigterm_and_ctrl_c(signum, isolated_home: Path):
    env = {**os.environ, "SOXAUTO_HOME": str(isolated_home)}
    proc = subprocess.Popen([sys.executable, "-c", "from soxauto.cli import main; main()", "schedule",
                             "--rule", "0 0 1 1 *", "--run"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()  # the loop is running once it names the next run
        assert " next run " in first and "closes" in first
        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 130
        assert f"stopped by {signal.Signals(signum).name}" in proc.stderr.read()
    finally:
        proc.kill() if proc.poll() is None else None
        proc.stderr.close()


# --- the documentation ---------------------------------------------------------------------

def doc_examples() -> list[tuple[list[str], str]]:
    """Each ``$ soxauto schedule ...`` line of docs/schedule.md with the lines printed under it."""
    text = (Path(__file__).parents[2] / "docs" / "schedule.md").read_text(encoding="utf-8")
    examples: list[tuple[list[str], str]] = []
    for block in text.split("```")[1::2]:
        for chunk in block.split("\n$ ")[1:] if block.startswith("\n$ ") else []:
            command, _, output = chunk.partition("\n")
            examples.append((shlex.split(command)[1:], output))
    return examples


def test_the_examples_in_the_docs_print_what_they_show(capsys):
    examples = doc_examples()
    assert len(examples) == 3
    for argv, expected in examples:
        with time_machine.travel(utc(2025, 9, 25, 12), tick=False):
            run(argv)
        out, err = capsys.readouterr()
        assert (out + err).rstrip("\n") == expected.rstrip("\n"), argv
