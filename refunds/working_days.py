"""The working days a refund deadline is counted in."""

from __future__ import annotations

from django.utils import timezone

from tickets.sla.calendar import WorkCalendar

from .models import RefundRules


def refund_working_days_calendar(rules: RefundRules) -> WorkCalendar:
    """Whole working days: the rules' calendar's open weekdays, holidays and make-up working
    days (a Saturday worked after 国庆 is a working day), or Mon–Fri.

    Business hours do not matter for a deadline in working days, so every open weekday and
    every make-up day counts from midnight to midnight.
    """
    whole_day = ((0, 1440),)
    if rules.working_calendar is not None:
        calendar = rules.working_calendar.work_calendar()
        if calendar.tz is None:
            return calendar
        return WorkCalendar(
            tz=calendar.tz,
            week=tuple(whole_day if day else () for day in calendar.week),
            holidays=calendar.holidays,
            workdays=tuple((day, whole_day if hours else ()) for day, hours in calendar.workdays),
        )
    return WorkCalendar.from_spec(
        {
            "timezone": timezone.get_default_timezone_name(),
            "week": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
