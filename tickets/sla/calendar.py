"""Business-hours arithmetic: pure Python, no database.

A calendar has a time zone, open intervals per weekday in local wall-clock time, holidays, and
make-up working days (调休: normally closed dates that are worked, with the Monday hours or hours
of their own). All arithmetic is done on UTC instants, so days on which daylight-saving time
changes are measured in real elapsed time; whole weeks without holidays, make-up days or offset
changes are passed in one step, and so are the ordinary days up to the next holiday or make-up
day, which keeps a year-long span to about a hundred operations.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZERO = timedelta(0)
DAY = timedelta(days=1)
MIDNIGHT = time()
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _minutes(text: str, where: str) -> int:
    if not isinstance(text, str) or not _CLOCK.match(text):
        raise ValueError(f"{where}: {text!r} is not a time of day (HH:MM, 00:00 to 24:00).")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _label(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _date(item: Any, what: str) -> date:
    try:
        return item if isinstance(item, date) else date.fromisoformat(item)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {item!r} is not a date (YYYY-MM-DD).") from None


Intervals = tuple[tuple[int, int], ...]  # (open, close) in minutes of the local day


def _workday_date(workday: tuple[date, Intervals]) -> date:
    return workday[0]


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo | None  # None: always open
    week: tuple[Intervals, ...]  # per weekday
    holidays: tuple[date, ...]  # sorted
    workdays: tuple[tuple[date, Intervals], ...] = ()  # make-up days with their hours, sorted
    # Derived: the open time of an ordinary day per weekday, and of a whole ordinary week.
    _day_open: tuple[timedelta, ...] = field(init=False, repr=False, compare=False)
    _week_open: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        day_open = tuple(timedelta(minutes=sum(b - a for a, b in day)) for day in self.week)
        object.__setattr__(self, "_day_open", day_open)
        object.__setattr__(self, "_week_open", sum(day_open, ZERO))

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def always_open(cls) -> WorkCalendar:
        return cls(tz=None, week=(((0, 1440),),) * 7, holidays=())

    @classmethod
    def from_spec(cls, spec: Mapping) -> WorkCalendar:
        """Build from ``{"timezone", "week": {"mon": [["09:00", "18:00"]], ...}, "holidays",
        "workdays"}``.

        ``workdays`` is a list of dates worked with the Monday hours, or a mapping of dates to
        their own ``[open, close]`` intervals (``None``: the Monday hours). Raises
        ``ValueError`` naming the offending interval, day, date or zone, and for a date that
        is both a holiday and a make-up day.
        """
        name = spec.get("timezone", "")
        try:
            tz = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"Unknown time zone {name!r}.") from None
        week_spec = spec.get("week") or {}
        unknown = sorted(set(week_spec) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"Unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}.")
        week = tuple(cls._day(day, week_spec.get(day) or ()) for day in WEEKDAYS)
        holidays = tuple(sorted({_date(item, "Holiday") for item in spec.get("holidays") or ()}))
        workdays = cls._workdays(spec.get("workdays") or (), monday=week[0], holidays=holidays)
        return cls(tz=tz, week=week, holidays=holidays, workdays=workdays)

    @classmethod
    def _workdays(
        cls, value: object, *, monday: Intervals, holidays: tuple[date, ...]
    ) -> tuple[tuple[date, Intervals], ...]:
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, list | tuple):
            items = [(item, None) for item in value]
        else:
            raise ValueError(
                "Make-up days: give a list of dates or a mapping of dates to [open, close] pairs."
            )
        out: dict[date, Intervals] = {}
        for item, intervals in items:
            day = _date(item, "Make-up day")
            label = day.isoformat()
            if day in holidays:
                raise ValueError(f"{label} is both a holiday and a make-up working day.")
            if intervals is None:
                hours = monday
            elif not isinstance(intervals, list | tuple):
                raise ValueError(f"{label}: {intervals!r} is not a list of [open, close] pairs.")
            else:
                hours = cls._day(label, intervals)
                if not hours:
                    raise ValueError(
                        f"Make-up day {label} has no open hours: give its hours, or none "
                        f"(null) for the Monday hours."
                    )
            if out.get(day, hours) != hours:
                raise ValueError(f"Make-up day {label} is given twice with different hours.")
            out[day] = hours
        return tuple(sorted(out.items()))

    @staticmethod
    def _day(day: str, intervals: Iterable) -> tuple[tuple[int, int], ...]:
        parsed = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise ValueError(f"{day}: {interval!r} is not an [open, close] pair.")
            start = _minutes(interval[0], day)
            end = _minutes(interval[1], day)
            if end <= start:
                raise ValueError(f"{day}: {interval[0]}–{interval[1]} closes before it opens.")
            parsed.append((start, end))
        parsed.sort()
        for (a_start, a_end), (b_start, b_end) in itertools.pairwise(parsed):
            if b_start < a_end:
                raise ValueError(
                    f"{day}: {_label(b_start)}–{_label(b_end)} overlaps "
                    f"{_label(a_start)}–{_label(a_end)}."
                )
        return tuple(parsed)

    def to_spec(self) -> dict:
        if self.tz is None:
            return {"timezone": "UTC", "week": {d: [["00:00", "24:00"]] for d in WEEKDAYS}}
        return {
            "timezone": self.tz.key,
            "week": {
                d: [[_label(a), _label(b)] for a, b in self.week[i]] for i, d in enumerate(WEEKDAYS)
            },
            "holidays": [h.isoformat() for h in self.holidays],
            "workdays": self._workdays_spec(),
        }

    def _workdays_spec(self) -> list[str] | dict[str, list[list[str]] | None]:
        """A list when every make-up day keeps the Monday hours, else a mapping."""
        monday = self.week[0]
        if all(hours == monday for _day, hours in self.workdays):
            return [day.isoformat() for day, _hours in self.workdays]
        return {
            day.isoformat(): None if hours == monday else [[_label(a), _label(b)] for a, b in hours]
            for day, hours in self.workdays
        }

    # --- facts ------------------------------------------------------------------------------

    @property
    def has_open_time(self) -> bool:
        return any(self.week)

    def _days_open(self, day: date, days: int) -> timedelta:
        """Open time of ``days`` ordinary days from ``day`` on."""
        if days == 7:
            return self._week_open
        weekday = day.weekday()
        return sum((self._day_open[(weekday + i) % 7] for i in range(days)), ZERO)

    def _is_holiday(self, day: date) -> bool:
        i = bisect.bisect_left(self.holidays, day)
        return i < len(self.holidays) and self.holidays[i] == day

    def _workday_hours(self, day: date) -> Intervals | None:
        """The hours of ``day`` when it is a make-up working day, else None."""
        i = bisect.bisect_left(self.workdays, day, key=_workday_date)
        if i < len(self.workdays) and self.workdays[i][0] == day:
            return self.workdays[i][1]
        return None

    def _intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of a local date, as UTC instants."""
        if self._is_holiday(day):
            return []
        hours = self._workday_hours(day) if self.workdays else None
        if hours is None:
            hours = self.week[day.weekday()]
        out = []
        for start, end in hours:
            out.append((self._instant(day, start), self._instant(day, end)))
        return out

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes == 1440:
            day, minutes = day + DAY, 0
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def _ordinary_days(self, day: date, limit: int) -> int:
        """How many days from ``day`` on (at most ``limit`` and a week) open for exactly their
        weekday's usual time: no holiday, no make-up day and one UTC offset throughout."""
        days = min(limit, 7)
        if self.holidays:
            i = bisect.bisect_left(self.holidays, day)
            if i < len(self.holidays):
                days = min(days, (self.holidays[i] - day).days)
        if self.workdays:
            i = bisect.bisect_left(self.workdays, day, key=_workday_date)
            if i < len(self.workdays):
                days = min(days, (self.workdays[i][0] - day).days)
        if days <= 0:
            return 0
        start = datetime.combine(day, MIDNIGHT, tzinfo=self.tz)
        end = datetime.combine(day + timedelta(days=days), MIDNIGHT, tzinfo=self.tz)
        return days if start.utcoffset() == end.utcoffset() else 0

    @staticmethod
    def _utc(moment: datetime, name: str) -> datetime:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware.")
        return moment.astimezone(UTC)

    # --- arithmetic -------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        at = self._utc(moment, "moment")
        if self.tz is None:
            return True
        day = at.astimezone(self.tz).date()
        return any(a <= at < b for a, b in self._intervals(day))

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else the next instant the calendar opens."""
        at = self._utc(moment, "moment")
        if self.tz is None:
            return moment
        if not self.has_open_time:
            raise ValueError("This calendar has no open time.")
        day = at.astimezone(self.tz).date()
        while True:
            for a, b in self._intervals(day):
                if at < b:
                    return max(a, at).astimezone(self.tz)
            day += DAY

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time in ``[start, end)``; zero when ``end <= start``."""
        start, end = self._utc(start, "start"), self._utc(end, "end")
        if end <= start:
            return ZERO
        if self.tz is None:
            return end - start
        total = ZERO
        first = day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            # Days wholly inside the span, up to a week at a time, count their usual time.
            days = self._ordinary_days(day, (last - day).days) if day > first else 0
            if days:
                total += self._days_open(day, days)
                day += timedelta(days=days)
                continue
            for a, b in self._intervals(day):
                lo, hi = max(a, start), min(b, end)
                if hi > lo:
                    total += hi - lo
            day += DAY
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``t`` with ``between(start, t) == duration``.

        Counting starts at the next opening; a deadline that falls on a closing time stays
        there. Raises ``ValueError`` for a calendar that is never open.
        """
        at = self._utc(start, "start")
        if duration < ZERO:
            raise ValueError("duration must not be negative.")
        if self.tz is None:
            return (at + duration).astimezone(start.tzinfo)
        if not self.has_open_time:
            raise ValueError("This calendar has no open time: no deadline can be computed.")
        if duration == ZERO:
            return start
        remaining = duration
        first = day = at.astimezone(self.tz).date()
        day_open, week_open = self._day_open, self._week_open
        while True:
            # Ordinary days that end before the deadline, up to a week at a time, are passed
            # whole; the day the deadline falls on is walked through.
            if day > first and remaining > day_open[day.weekday()]:
                days = self._ordinary_days(day, 7)
                if days == 7 and remaining > week_open:
                    remaining -= week_open
                    day += timedelta(days=7)
                    continue
                passed = 0
                for i in range(days):
                    usual = day_open[(day.weekday() + i) % 7]
                    if remaining <= usual:
                        break
                    remaining -= usual
                    passed += 1
                if passed:
                    day += timedelta(days=passed)
                    continue
            for a, b in self._intervals(day):
                lo = max(a, at)
                if lo >= b:
                    continue
                available = b - lo
                if remaining <= available:
                    return (lo + remaining).astimezone(self.tz)
                remaining -= available
            day += DAY
