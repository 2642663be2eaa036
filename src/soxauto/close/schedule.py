"""When the month-end close runs: a rule, a time zone and a holiday calendar give the run times
and the period each run closes (docs/schedule.md).

A rule is either a standard five-field cron line (``minute hour day-of-month month
day-of-week``) or a business-day rule ``BD<n> HH:MM`` (``BD-1`` is the last business day),
optionally followed by ``period=previous|current|-N`` (default ``previous``). Times are wall
clock in the schedule's zone. Where a wall time does not exist (spring forward) the run is
shifted by the gap (02:30 -> 03:30 in Paris); where it exists twice (fall back) it runs once,
at the first occurrence: a close must not run twice because the clocks moved.

The run loop (:func:`run_loop`) calls a close callable given to it and records each
(rule, period) it started in ``schedule.json``, so no period is closed twice by one rule.
Processes and signals (the default close in a child process, SIGINT/SIGTERM) live at the
edge, in ``soxauto.cli.schedule``.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ..errors import Problem, UsageError, did_you_mean
from ..period import Period

UTC = timezone.utc
# Long enough to reach 29 February across a skipped leap year (2096 -> 2104).
HORIZON_DAYS = 366 * 9
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 7))
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
NAMES = {3: {n: i + 1 for i, n in enumerate(MONTHS)}, 4: {n: i for i, n in enumerate(WEEKDAYS)}}
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
PERIOD_WORDS = {"previous": -1, "current": 0}
_BD = re.compile(r"BD(-?\d+)", re.IGNORECASE)
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
EXAMPLES = "write a cron line such as '0 6 * * *' or a business-day rule such as 'BD3 06:00'"


@dataclass(frozen=True)
class Rule:
    """A parsed rule. ``text`` is its canonical spelling, the key of its runs in schedule.json."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] = frozenset(range(1, 32))
    months: frozenset[int] = frozenset(range(1, 13))
    weekdays: frozenset[int] = frozenset(range(7))  # 0 = Sunday, as in cron
    either_day: bool = False  # cron: both day fields restricted -> a day matches either one
    business_day: int | None = None
    period_offset: int = -1

    @classmethod
    def parse(cls, text: str) -> "Rule":
        return parse_rule(text)


def parse_rule(text: str) -> Rule:
    """Parse a rule or raise one UsageError listing every problem in it."""
    tokens = text.split()
    problems: list[Problem] = []
    offset = -1
    while tokens and "=" in tokens[-1]:
        offset = _period_offset(tokens.pop(), problems)
    suffix = "" if offset == -1 else f" period={_period_word(offset)}"
    rule = None
    if not tokens:
        problems.append(Problem("", f"no run time; {EXAMPLES}"))
    elif tokens[0].startswith("@"):
        cron = MACROS.get(tokens[0].lower())
        if cron is None or len(tokens) > 1:
            hint = did_you_mean(tokens[0].lower(), MACROS) if cron is None else ""
            problems.append(Problem("", f"'{' '.join(tokens)}' is not a macro{hint} (one of {', '.join(MACROS)})"))
        else:
            rule = _cron(cron.split(), problems, offset, tokens[0].lower() + suffix)
    elif _BD.fullmatch(tokens[0]) or tokens[0].upper() == "BD":
        rule = _business(tokens, problems, offset, suffix)
    elif len(tokens) == 5:
        rule = _cron(tokens, problems, offset, " ".join(tokens) + suffix)
    else:
        problems.append(Problem("", _shape_hint(tokens)))
    if problems or rule is None:
        raise UsageError(f"bad schedule rule '{text}'", problems)
    return rule


def _shape_hint(tokens: list[str]) -> str:
    first = tokens[0]
    if first.lower().startswith("cron("):
        return "that is an AWS EventBridge expression; write its first five fields without cron( ), with '*' for '?'"
    if re.fullmatch(r"[A-Za-z]{1,3}-?\d+", first):
        digits = re.sub(r"[A-Za-z]", "", first)
        return f"'{first}' is not a rule start{did_you_mean(first.upper(), ['BD' + digits])} (BD<n> HH:MM)"
    extra = "; there is no seconds or year field" if len(tokens) in (6, 7) else ""
    return (f"a cron line has 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(tokens)}{extra}; {EXAMPLES}")


def _period_offset(token: str, problems: list[Problem]) -> int:
    key, _, value = token.partition("=")
    if key.lower() != "period":
        problems.append(Problem(token, f"unknown setting '{key}'{did_you_mean(key.lower(), ['period'])}"))
        return -1
    word = value.lower()
    if word in PERIOD_WORDS:
        return PERIOD_WORDS[word]
    if re.fullmatch(r"-\d{1,2}", word):
        return int(word)
    problems.append(Problem(token, f"period '{value}' is not previous, current or -N (months back)"
                                   f"{did_you_mean(word, PERIOD_WORDS)}"))
    return -1


def _period_word(offset: int) -> str:
    return next((w for w, o in PERIOD_WORDS.items() if o == offset), str(offset))


def _business(tokens: list[str], problems: list[Problem], offset: int, suffix: str) -> Rule:
    m = _BD.fullmatch(tokens[0])
    if m is None:  # "BD 3 06:00"
        problems.append(Problem(tokens[0], "write the business day as one word, e.g. BD3 (BD-1 is the last)"))
        return Rule("", frozenset(), frozenset())
    n = int(m.group(1))
    if n == 0 or abs(n) > 23:
        problems.append(Problem(tokens[0], "business days count 1 to 23 from the start of the month (BD1 is "
                                           "the first) or -1 to -23 from its end (BD-1 is the last)"))
    if len(tokens) != 2:
        problems.append(Problem("", "a business-day rule is BD<n> HH:MM, e.g. 'BD3 06:00', optionally followed "
                                    "by period=previous|current|-N"))
        return Rule("", frozenset(), frozenset())
    hour, minute = _clock(tokens[1], problems)
    text = f"BD{n} {hour:02d}:{minute:02d}{suffix}"
    return Rule(text, frozenset({minute}), frozenset({hour}), business_day=n, period_offset=offset)


def _clock(token: str, problems: list[Problem]) -> tuple[int, int]:
    m = _TIME.fullmatch(token)
    if m is None:
        problems.append(Problem(token, "not a time of day; write HH:MM in 24-hour form, e.g. 06:00"))
        return 0, 0
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        problems.append(Problem(token, "hour must be 00-23 and minute 00-59"))
    return hour, minute


def _cron(fields: list[str], problems: list[Problem], offset: int, text: str) -> Rule:
    sets = [_field(i, f, problems) for i, f in enumerate(fields)]
    weekdays = frozenset(d % 7 for d in sets[4])  # 7 is Sunday too
    # Vixie cron: a day field written with '*' does not restrict, else the two day fields are ORed.
    either = not fields[2].startswith("*") and not fields[4].startswith("*")
    return Rule(text, sets[0], sets[1], sets[2], sets[3], weekdays, either, None, offset)


def _field(index: int, text: str, problems: list[Problem]) -> frozenset[int]:
    name, lo, hi = FIELDS[index]
    where = f"field {index + 1} ({name}) '{text}'"
    values: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                problems.append(Problem(where, f"step '{step_text}' must be a whole number of 1 or more"))
                continue
            step = int(step_text)
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(index, a, where, problems), _value(index, b, where, problems)
            if first is not None and last is not None and first > last:
                problems.append(Problem(where, f"range {a}-{b} runs backwards; cron ranges do not wrap"))
                continue
        else:
            first = _value(index, base, where, problems)
            last = hi if slash else first
        if first is not None and last is not None:
            values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(index: int, token: str, where: str, problems: list[Problem]) -> int | None:
    name, lo, hi = FIELDS[index]
    names = NAMES.get(index, {})
    if token.isdigit():
        if lo <= int(token) <= hi:
            return int(token)
        problems.append(Problem(where, f"{token} is out of range {lo}-{hi}"))
    elif token.upper() in names:
        return names[token.upper()]
    else:
        spell = f" or a name ({', '.join(names)})" if names else ""
        problems.append(Problem(where, f"'{token}' is not a number {lo}-{hi}{spell}"
                                       f"{did_you_mean(token.upper(), names)}"))
    return None


@dataclass(frozen=True)
class Schedule:
    """A rule in a time zone with a holiday calendar: the run times and the period of each."""

    rule: Rule
    tz: ZoneInfo = ZoneInfo("UTC")
    holidays: frozenset[date] = frozenset()
    _business: dict = field(default_factory=dict, compare=False, repr=False)

    def runs_on(self, day: date) -> bool:
        r = self.rule
        if r.business_day is not None:
            days = self.business_days(day.year, day.month)
            n = r.business_day
            return len(days) >= abs(n) and days[n - 1 if n > 0 else n] == day
        if day.month not in r.months:
            return False
        dom, dow = day.day in r.days, (day.weekday() + 1) % 7 in r.weekdays
        return (dom or dow) if r.either_day else (dom and dow)

    def business_days(self, year: int, month: int) -> list[date]:
        """Monday to Friday, less the holidays."""
        key = (year, month)
        if key not in self._business:
            first = date(year, month, 1)
            span = (Period(year, month).as_of - first).days
            every = (first + timedelta(days=i) for i in range(span))
            self._business[key] = [d for d in every if d.weekday() < 5 and d not in self.holidays]
        return self._business[key]

    def next_after(self, instant: datetime) -> datetime:
        """The first run strictly after ``instant`` (aware), in UTC."""
        start = instant.astimezone(self.tz).date() - timedelta(days=1)
        for i in range(HORIZON_DAYS):
            day = start + timedelta(days=i)
            if self.runs_on(day):
                later = [t for t in self._instants(day) if t > instant]
                if later:
                    return min(later)
        raise UsageError(f"schedule rule '{self.rule.text}' never runs in the {HORIZON_DAYS // 366} years after "
                         f"{instant.astimezone(self.tz):%Y-%m-%d}; check its day and month fields")

    def _instants(self, day: date) -> Iterator[datetime]:
        for hour in sorted(self.rule.hours):
            for minute in sorted(self.rule.minutes):
                # fold=0: the first of two repeated wall times; a missing one lands one gap later
                wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.tz)
                yield wall.astimezone(UTC)

    def upcoming(self, after: datetime, count: int) -> list[tuple[datetime, Period]]:
        out: list[tuple[datetime, Period]] = []
        for _ in range(count):
            after = self.next_after(after)
            out.append((after, self.period_at(after)))
        return out

    def period_at(self, instant: datetime) -> Period:
        """The period a run at ``instant`` closes: the local month shifted by the rule's offset."""
        local = instant.astimezone(self.tz)
        return Period(local.year, local.month).shift(self.rule.period_offset)

    def due(self, now: datetime, window: timedelta) -> datetime | None:
        """The run time in ``(now - window, now]``, if any: cron and EventBridge start late."""
        run = self.next_after(now - window)
        return run if run <= now else None

    def local(self, instant: datetime) -> str:
        return f"{instant.astimezone(self.tz):%Y-%m-%d %a %H:%M %Z}"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone '{name}'{did_you_mean(name, available_timezones())} "
                         "(an IANA name such as Africa/Lagos or UTC)") from None


def load_holidays(path: Path) -> frozenset[date]:
    """One ``YYYY-MM-DD`` per line, optionally followed by its name; ``#`` starts a comment."""
    days: set[date] = set()
    problems = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        word = text.split()[0]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
            problems.append(Problem(f"{path}:{number}", f"'{word}' is not a date of the form YYYY-MM-DD"))
            continue
        try:
            days.add(date.fromisoformat(word))
        except ValueError:
            problems.append(Problem(f"{path}:{number}", f"'{word}' is not a calendar date"))
    if problems:
        raise UsageError(f"bad holiday file {path}", problems)
    return frozenset(days)


class ScheduleState:
    """``schedule.json``: the last run of each rule, so a period is never closed twice by it."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> dict:
        if not self.path.exists():
            return {"version": 1, "schedules": {}}
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise UsageError(f"{self.path}:{e.lineno}: not valid JSON ({e.msg}); fix or delete the file") from None

    def last(self, key: str) -> dict | None:
        return self.read()["schedules"].get(key)

    def ran(self, key: str, period: Period) -> bool:
        last = self.last(key)
        # periods only move forward: an earlier one (clock set back) counts as done too
        return last is not None and Period.parse(last["period"]) >= period

    def record(self, key: str, entry: dict) -> None:
        data = self.read()
        data["schedules"][key] = entry
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)  # a crash leaves the old file or the new one, never half


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_loop(schedule: Schedule, close: Callable[[Period], int], *, key: str, state: ScheduleState,
             log: Callable[[str], None], clock: Callable[[], datetime] = utc_now,
             sleep: Callable[[float], None] = time.sleep, stopped: Callable[[], bool] = lambda: False,
             until: datetime | None = None, nap: float = 60.0) -> int:
    """Sleep to each run time and close its period once; 130 when stopped, 0 at ``until``.

    Naps are at most ``nap`` seconds and the clock is read again after each, so a machine that
    was suspended or had its clock corrected still runs at the right time. Missed run times
    (the scheduler was down) are not caught up: the next one is taken."""
    at = schedule.next_after(clock())
    while True:
        if until is not None and at > until:
            return 0
        log(f"next run {schedule.local(at)} closes {schedule.period_at(at)}")
        while (left := (at - clock()).total_seconds()) > 0:
            if stopped():
                return 130
            sleep(min(left, nap))
        if stopped():
            return 130
        _fire(schedule, close, key, state, at, log, clock)
        if stopped():
            return 130
        at = schedule.next_after(max(at, clock()))


def _fire(schedule: Schedule, close: Callable[[Period], int], key: str, state: ScheduleState,
          at: datetime, log: Callable[[str], None], clock: Callable[[], datetime]) -> None:
    period = schedule.period_at(at)
    if state.ran(key, period):
        log(f"skip {period}: rule '{key}' already closed it (see {state.path})")
        return
    entry = {"period": str(period), "scheduled_at": stamp(at), "started_at": stamp(clock()),
             "finished_at": None, "exit_code": None}
    state.record(key, entry)  # before the close: a crash mid-close must not lead to a second close
    log(f"closing {period} (rule '{key}')")
    try:
        code = close(period)
    except Exception as e:  # a broken close must not kill the scheduler; the next period still runs
        log(f"close of {period} failed: {type(e).__name__}: {e}")
        code = 4
    state.record(key, {**entry, "finished_at": stamp(clock()), "exit_code": code})
    log(f"closed {period}: exit {code}")
