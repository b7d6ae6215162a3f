"""WorkCalendar: the business-hours arithmetic of sla.md, example by example."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.sla.calendar import WorkCalendar

WEEKDAYS_9_TO_5 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def calendar(week=None, tz="UTC", holidays=(), workdays=()):
    return WorkCalendar.from_spec(
        {
            "timezone": tz,
            "week": WEEKDAYS_9_TO_5 if week is None else week,
            "holidays": holidays,
            "workdays": workdays,
        }
    )


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 2026-11-02 (day 2 = Monday ... day 8 = Sunday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


MON, TUE, WED, THU, FRI, SAT, SUN = 2, 3, 4, 5, 6, 7, 8
NEXT_MON = 9


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (utc(WED, 10), 2, utc(WED, 12)),
        (utc(FRI, 16), 2, utc(NEXT_MON, 10)),
        (utc(WED, 7), 2, utc(WED, 11)),
        (utc(SAT, 10), 2, utc(NEXT_MON, 11)),
        (utc(MON, 16), 10, utc(WED, 10)),
    ],
)
def test_add_examples_of_the_specification(start, hours, due):
    assert calendar().add(start, timedelta(hours=hours)) == due


@pytest.mark.parametrize(
    ("start", "end", "counted"),
    [
        (utc(TUE, 7), utc(TUE, 10), timedelta(hours=1)),
        (utc(TUE, 16, 50), utc(TUE, 18, 51), timedelta(minutes=10)),
        (utc(FRI, 0), utc(NEXT_MON, 9, 30), timedelta(hours=8, minutes=30)),
    ],
)
def test_between_examples_of_the_specification(start, end, counted):
    assert calendar().between(start, end) == counted


def test_between_is_zero_when_end_is_not_after_start():
    assert calendar().between(utc(WED, 12), utc(WED, 10)) == timedelta(0)
    assert calendar().between(utc(WED, 12), utc(WED, 12)) == timedelta(0)


def test_a_deadline_exactly_at_closing_stays_at_closing():
    assert calendar().add(utc(WED, 15), timedelta(hours=2)) == utc(WED, 17)


def test_start_after_closing_counts_from_the_next_opening():
    assert calendar().add(utc(WED, 17, 30), timedelta(minutes=15)) == utc(THU, 9, 15)


def test_holidays_are_closed_all_day():
    cal = calendar(holidays=["2026-11-05"])  # Thursday
    assert cal.add(utc(WED, 16), timedelta(hours=2)) == utc(FRI, 10)
    assert not cal.is_open(utc(THU, 10))
    assert cal.between(utc(WED, 0), utc(SAT, 0)) == timedelta(hours=16)


def test_start_on_a_holiday_counts_from_the_next_open_day():
    cal = calendar(holidays=["2026-11-02"])  # Monday
    assert cal.add(utc(MON, 10), timedelta(hours=1)) == utc(TUE, 10)


def test_several_intervals_a_day_skip_the_lunch_break():
    split = {
        d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
    }
    cal = calendar(week=split)
    assert cal.add(utc(WED, 11), timedelta(hours=2)) == utc(WED, 14)
    assert cal.between(utc(WED, 11), utc(WED, 14)) == timedelta(hours=2)
    assert not cal.is_open(utc(WED, 12, 30))
    assert cal.is_open(utc(WED, 13))
    assert not cal.is_open(utc(WED, 18))  # intervals are half-open


def test_results_are_the_same_instant_whatever_zone_the_input_carries():
    cal = calendar(tz="Asia/Shanghai", week={d: [["09:00", "18:00"]] for d in ("mon", "tue")})
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 11, 2, 17, 30, tzinfo=shanghai)  # Monday 17:30 local
    due = cal.add(start.astimezone(UTC), timedelta(hours=1))
    assert due == datetime(2026, 11, 3, 9, 30, tzinfo=shanghai)
    assert cal.between(start.astimezone(ZoneInfo("America/New_York")), due) == timedelta(hours=1)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        calendar().add(datetime(2026, 11, 2, 10), timedelta(hours=1))  # noqa: DTZ001 - naive on purpose
    with pytest.raises(ValueError, match="aware"):
        calendar().between(datetime(2026, 11, 2, 10), utc(MON, 12))  # noqa: DTZ001


def test_a_calendar_without_open_time_refuses_to_compute_a_deadline():
    with pytest.raises(ValueError, match="no open time"):
        calendar(week={}).add(utc(MON, 10), timedelta(minutes=15))


def test_spans_of_several_weeks_jump_whole_weeks_correctly():
    cal = calendar(holidays=["2026-11-18"])
    # Six weeks of 40 h, one holiday of 8 h in between.
    assert cal.between(utc(MON, 9), utc(MON, 9) + timedelta(weeks=6)) == timedelta(hours=232)
    assert cal.add(utc(MON, 9), timedelta(hours=232)) == datetime(2026, 12, 11, 17, tzinfo=UTC)


def test_always_open_counts_calendar_time():
    cal = WorkCalendar.always_open()
    assert cal.add(utc(SAT, 23), timedelta(hours=2)) == utc(8, 1)
    assert cal.between(utc(SAT, 23), utc(8, 1)) == timedelta(hours=2)
    assert cal.is_open(utc(8, 3))


class TestDaylightSavingTime:
    def test_berlin_spring_forward_day_is_an_hour_shorter_in_elapsed_time(self):
        cal = calendar(tz="Europe/Berlin", week={"sun": [["00:00", "24:00"]]})
        berlin = ZoneInfo("Europe/Berlin")
        day = datetime(2026, 3, 29, 0, 0, tzinfo=berlin)
        assert cal.between(day, day + timedelta(days=1)) == timedelta(hours=23)

    def test_berlin_fall_back_day_is_an_hour_longer_in_elapsed_time(self):
        cal = calendar(tz="Europe/Berlin", week={"sun": [["00:00", "24:00"]]})
        berlin = ZoneInfo("Europe/Berlin")
        start = datetime(2026, 10, 25, 0, 0, tzinfo=berlin)
        end = datetime(2026, 10, 26, 0, 0, tzinfo=berlin)
        assert cal.between(start, end) == timedelta(hours=25)
        assert cal.add(start, timedelta(hours=25)) == end

    def test_new_york_business_hours_stay_in_local_wall_clock_time_across_the_change(self):
        cal = calendar(tz="America/New_York")
        ny = ZoneInfo("America/New_York")
        # DST ends Sunday 2026-11-01; Friday 16:00 EDT + 2 h → Monday 10:00 EST.
        start = datetime(2026, 10, 30, 16, 0, tzinfo=ny)
        assert cal.add(start, timedelta(hours=2)) == datetime(2026, 11, 2, 10, 0, tzinfo=ny)
        assert cal.add(start, timedelta(hours=2)).astimezone(UTC).hour == 15

    def test_new_york_spring_forward_over_weeks(self):
        cal = calendar(tz="America/New_York")
        ny = ZoneInfo("America/New_York")
        start = datetime(2026, 3, 2, 9, 0, tzinfo=ny)  # Monday; DST starts Sunday March 8
        due = cal.add(start, timedelta(hours=80))  # two working weeks
        assert due == datetime(2026, 3, 13, 17, 0, tzinfo=ny)
        assert cal.between(start, due) == timedelta(hours=80)


class TestBadSpecifications:
    @pytest.mark.parametrize(
        ("week", "message"),
        [
            ({"mon": [["18:00", "09:00"]]}, "mon: 18:00–09:00 closes before it opens"),
            (
                {"tue": [["09:00", "13:00"], ["12:00", "14:00"]]},
                "tue: 12:00–14:00 overlaps 09:00–13:00",
            ),
            ({"wed": [["9:00", "17:00"]]}, "wed: '9:00' is not a time of day"),
            ({"thu": [["09:00", "24:30"]]}, "thu: '24:30' is not a time of day"),
            ({"funday": [["09:00", "17:00"]]}, "Unknown weekday 'funday'"),
        ],
    )
    def test_bad_intervals_are_refused_naming_the_interval(self, week, message):
        with pytest.raises(ValueError, match=message):
            calendar(week=week)

    def test_an_unknown_time_zone_is_refused(self):
        with pytest.raises(ValueError, match="Unknown time zone 'Mars/Olympus'"):
            calendar(tz="Mars/Olympus")

    def test_a_bad_holiday_is_refused(self):
        with pytest.raises(ValueError, match="not a date"):
            calendar(holidays=["2026-13-01"])


def test_spec_round_trips():
    cal = calendar(tz="Asia/Shanghai", holidays=["2026-10-01"])
    assert WorkCalendar.from_spec(cal.to_spec()) == cal
    assert cal.holidays == (date(2026, 10, 1),)


@pytest.mark.parametrize(
    "workdays",
    [
        pytest.param(["2026-09-20", date(2026, 10, 10)], id="monday-hours"),
        pytest.param({"2026-09-20": None, "2026-10-10": [["10:00", "14:00"]]}, id="own-hours"),
    ],
)
def test_spec_round_trips_with_make_up_days(workdays):
    cal = calendar(tz="Asia/Shanghai", holidays=["2026-10-01"], workdays=workdays)
    spec = cal.to_spec()
    assert WorkCalendar.from_spec(spec) == cal
    assert [day for day, _hours in cal.workdays] == [date(2026, 9, 20), date(2026, 10, 10)]
    if isinstance(workdays, list):
        assert spec["workdays"] == ["2026-09-20", "2026-10-10"]
    else:
        assert spec["workdays"] == {"2026-09-20": None, "2026-10-10": [["10:00", "14:00"]]}


# --- Make-up working days (调休) -------------------------------------------------------------

MONDAY_8_TO_12 = {**WEEKDAYS_9_TO_5, "mon": [["08:00", "12:00"]]}


def test_a_make_up_day_is_worked_with_the_monday_hours():
    cal = calendar(week=MONDAY_8_TO_12, workdays=["2026-11-07"])  # Saturday
    assert cal.is_open(utc(SAT, 8))
    assert cal.is_open(utc(SAT, 11, 59))
    assert not cal.is_open(utc(SAT, 12))
    assert not cal.is_open(utc(SUN, 10))
    # Friday 16:00 + 2 h: one hour on Friday, the next on Saturday from 08:00.
    assert cal.add(utc(FRI, 16), timedelta(hours=2)) == utc(SAT, 9)
    assert cal.next_opening(utc(FRI, 17)) == utc(SAT, 8)


def test_a_make_up_day_is_worked_with_hours_of_its_own():
    cal = calendar(
        week=MONDAY_8_TO_12, workdays={"2026-11-08": [["10:00", "12:00"], ["13:00", "15:00"]]}
    )
    assert not cal.is_open(utc(SAT, 10))
    assert cal.is_open(utc(SUN, 10))
    assert not cal.is_open(utc(SUN, 12, 30))
    # Friday 16:00–17:00, then Sunday 10:00–12:00 and 13:00–…
    assert cal.add(utc(FRI, 16), timedelta(hours=3)) == utc(SUN, 12)
    assert cal.add(utc(FRI, 16), timedelta(hours=3, minutes=30)) == utc(SUN, 13, 30)
    assert cal.between(utc(SAT, 0), utc(NEXT_MON, 0)) == timedelta(hours=4)


def test_between_counts_a_make_up_day():
    cal = calendar(workdays=["2026-11-07"])  # Saturday, with the Monday hours 09:00–17:00
    # Friday 00:00 → Monday 09:30: Friday 8 h, Saturday 8 h, Monday 30 min.
    assert cal.between(utc(FRI, 0), utc(NEXT_MON, 9, 30)) == timedelta(hours=16, minutes=30)


def test_a_week_holding_a_make_up_day_is_not_jumped_over_in_one_step():
    cal = calendar(workdays=["2026-11-21"])  # a Saturday in the third week
    six_weeks = (utc(MON, 9), utc(MON, 9) + timedelta(weeks=6))
    # Six weeks of 40 h and one Saturday of 8 h.
    assert cal.between(*six_weeks) == timedelta(hours=248)
    assert cal.add(utc(MON, 9), timedelta(hours=248)) == datetime(2026, 12, 11, 17, tzinfo=UTC)
    # 130 hours from Monday 2 November: the make-up Saturday's eight hours bring the deadline
    # a working day earlier.
    due = datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert calendar().add(utc(MON, 9), timedelta(hours=130)) == due + timedelta(days=1)
    assert cal.add(utc(MON, 9), timedelta(hours=130)) == due
    assert cal.between(utc(MON, 9), due) == timedelta(hours=130)


def test_a_make_up_day_moves_a_deadline_across_national_day_2026():
    """国庆 2026: closed 1–7 October, Saturday 10 October worked (the Monday hours)."""
    shanghai = ZoneInfo("Asia/Shanghai")
    cal = calendar(
        tz="Asia/Shanghai",
        week={d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holidays=[f"2026-10-0{d}" for d in range(1, 8)],
        workdays=["2026-09-20", "2026-10-10"],
    )
    friday = datetime(2026, 10, 9, 17, 0, tzinfo=shanghai)
    assert cal.add(friday, timedelta(hours=2)) == datetime(2026, 10, 10, 10, 0, tzinfo=shanghai)
    assert cal.is_open(datetime(2026, 9, 20, 9, 0, tzinfo=shanghai))  # Sunday before 国庆
    # Wednesday 30 September 17:00 + 2 h: one hour, then 国庆, then Thursday 8 October.
    eve = datetime(2026, 9, 30, 17, 0, tzinfo=shanghai)
    assert cal.add(eve, timedelta(hours=2)) == datetime(2026, 10, 8, 10, 0, tzinfo=shanghai)


def test_a_date_both_a_holiday_and_a_make_up_day_is_refused_naming_it():
    with pytest.raises(ValueError, match="2026-10-10 is both a holiday and a make-up working day"):
        calendar(holidays=["2026-10-01", "2026-10-10"], workdays=["2026-10-10"])
    with pytest.raises(ValueError, match="2026-10-10 is both a holiday and a make-up working day"):
        calendar(holidays=[date(2026, 10, 10)], workdays={"2026-10-10": [["09:00", "12:00"]]})


class TestBadMakeUpDays:
    @pytest.mark.parametrize(
        ("workdays", "message"),
        [
            (
                {"2026-10-10": [["18:00", "09:00"]]},
                "2026-10-10: 18:00–09:00 closes before it opens",
            ),
            (
                {"2026-10-10": [["09:00", "13:00"], ["12:00", "14:00"]]},
                "2026-10-10: 12:00–14:00 overlaps 09:00–13:00",
            ),
            ({"2026-10-10": [["9:00", "17:00"]]}, "2026-10-10: '9:00' is not a time of day"),
            (
                {"2026-10-10": [["09:00"]]},
                r"2026-10-10: \['09:00'\] is not an \[open, close\] pair",
            ),
            ({"2026-10-10": "09:00-17:00"}, "2026-10-10: '09:00-17:00' is not a list of"),
            ({"2026-10-10": []}, "Make-up day 2026-10-10 has no open hours"),
            (["2026-10-32"], "Make-up day '2026-10-32' is not a date"),
            ("2026-10-10", "Make-up days: give a list of dates or a mapping"),
        ],
    )
    def test_bad_make_up_days_are_refused_naming_the_date(self, workdays, message):
        with pytest.raises(ValueError, match=message):
            calendar(workdays=workdays)


# --- Properties ---------------------------------------------------------------------------

BUSINESS = calendar(
    tz="Europe/Berlin",
    week={
        "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
        "tue": [["09:00", "18:00"]],
        "wed": [["09:00", "18:00"]],
        "thu": [["09:00", "18:00"]],
        "fri": [["09:00", "16:30"]],
        "sat": [["10:00", "14:00"]],
    },
    holidays=["2026-12-25", "2026-12-26", "2027-01-01", "2026-04-03"],
    workdays={"2026-03-29": None, "2026-10-11": [["08:00", "12:00"]], "2027-01-03": None},
)
moments = st.datetimes(
    # hypothesis takes naive bounds and attaches the timezone itself
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001
    max_value=datetime(2027, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.integers(min_value=0, max_value=60 * 24 * 120).map(lambda m: timedelta(minutes=m))


def between_day_by_day(cal: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """``between`` one local day at a time, so that no week is ever jumped over."""
    total = timedelta(0)
    day = datetime.combine(start.astimezone(cal.tz).date(), datetime.min.time(), tzinfo=cal.tz)
    while day < end:
        following = datetime.combine(day.date() + timedelta(days=1), day.time(), tzinfo=cal.tz)
        total += cal.between(max(start, day), min(end, following))
        day = following
    return total


@settings(max_examples=150, deadline=None)
@given(start=moments, duration=durations)
def test_jumping_whole_weeks_counts_as_much_as_counting_day_by_day(start, duration):
    due = BUSINESS.add(start, duration)
    assert between_day_by_day(BUSINESS, start, due) == duration


@settings(max_examples=300, deadline=None)
@given(start=moments, duration=durations)
def test_between_undoes_add(start, duration):
    assert BUSINESS.between(start, BUSINESS.add(start, duration)) == duration


@settings(max_examples=300, deadline=None)
@given(start=moments, a=durations, b=durations)
def test_add_is_monotonic(start, a, b):
    small, large = sorted((a, b))
    assert BUSINESS.add(start, small) <= BUSINESS.add(start, large)


@settings(max_examples=200, deadline=None)
@given(start=moments, duration=durations.filter(lambda d: d > timedelta(0)))
def test_add_returns_the_earliest_such_instant(start, duration):
    due = BUSINESS.add(start, duration)
    assert BUSINESS.between(start, due - timedelta(microseconds=1)) < duration


def test_next_opening_is_the_moment_itself_when_open_else_the_next_opening():
    cal = calendar(holidays=["2026-11-09"])  # next Monday is a holiday
    assert cal.next_opening(utc(WED, 10)) == utc(WED, 10)
    assert cal.next_opening(utc(WED, 17)) == utc(THU, 9)
    assert cal.next_opening(utc(FRI, 18)) == utc(10, 9)
