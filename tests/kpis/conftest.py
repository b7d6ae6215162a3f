from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tickets.models import BusinessCalendar, BusinessHours, SlaTarget, Team

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local (business time zone) moment in November 2026: 16 = Monday, 17 = Tuesday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def office_hours(db):
    """Every SLA target measured on Mon–Fri 09:00–18:00 (Asia/Shanghai)."""
    calendar = BusinessCalendar.objects.create(name="Office", timezone="Asia/Shanghai")
    for weekday in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=weekday, opens="09:00", closes="18:00"
        )
    SlaTarget.objects.update(calendar=calendar)
    return calendar


@pytest.fixture
def general_team(db):
    return Team.objects.get(name="General service")
