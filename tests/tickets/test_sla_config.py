"""SLA configuration in the admin and the API: bad input is refused with a message naming what
is wrong and nothing written; good input is stored, round-trips, and moves the due times of the
open tickets it governs.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
import pytest
import time_machine
from rest_framework.test import APIClient

from csplatform.actors import Actor
from tests.factories import (
    CustomerFactory,
    TeamFactory,
    admin_user,
    agent_user,
    online_agent,
    supervisor_user,
)
from tickets.models import (
    BusinessCalendar,
    BusinessCalendarWorkday,
    BusinessHours,
    Holiday,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketSettings,
)
from tickets.services import ticket_create
from tickets.sla import config
from tickets.sla.sweeper import SweepResult, sla_sweep

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday
WEEKDAYS_9_TO_18 = [(day, "09:00", "18:00") for day in range(5)]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def admin_site(client):
    """The Django test client signed in to /admin/ as a staff user with the admin role."""
    client.force_login(admin_user(is_staff=True))
    return client


def test_the_admin_role_may_configure_slas_in_the_admin_of_a_migrated_database(admin_site):
    for model in ("businesscalendar", "slapolicy"):
        assert admin_site.get(f"/admin/tickets/{model}/").status_code == 200


@pytest.fixture
def agent():
    team = TeamFactory(name="Service desk")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    return online_agent(team, username="li.na")


def open_ticket(*, now: datetime = T0) -> Ticket:
    return ticket_create(
        customer=CustomerFactory(),
        kind="inquiry",
        channel="web",
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=Actor(kind="api_key", label="storefront"),
        now=now,
    )


def first_response(ticket: Ticket) -> SlaClock:
    return SlaClock.objects.filter(ticket=ticket, metric="first_response").latest("cycle")


def stored_calendars() -> list[dict]:
    return config.calendars_export()


def stored_policies() -> list[dict]:
    return config.policies_export()


# ==============================================================================================
# Admin: business calendars
# ==============================================================================================


@pytest.fixture
def calendar():
    calendar = BusinessCalendar.objects.create(name="Shanghai office", timezone="Asia/Shanghai")
    BusinessHours.objects.bulk_create(
        BusinessHours(calendar=calendar, weekday=d, opens=a, closes=b)
        for d, a, b in WEEKDAYS_9_TO_18
    )
    return calendar


def calendar_form(calendar, *, timezone=None, add=(), delete=(), holidays=(), workdays=()) -> dict:
    """The change form of ``calendar`` as the admin posts it: its rows, plus ``add`` rows
    ``(weekday, opens, closes)``, with the rows of the weekdays in ``delete`` marked deleted,
    plus new ``holidays`` (dates) and ``workdays`` rows ``(date, opens, closes)``."""
    hours = list(calendar.hours.order_by("id"))
    data = {
        "name": calendar.name,
        "timezone": calendar.timezone if timezone is None else timezone,
        "hours-TOTAL_FORMS": len(hours) + len(add),
        "hours-INITIAL_FORMS": len(hours),
        "hours-MIN_NUM_FORMS": 0,
        "hours-MAX_NUM_FORMS": 1000,
    }
    rows = [(h.pk, h.weekday, h.opens, h.closes) for h in hours]
    rows += [("", weekday, opens, closes) for weekday, opens, closes in add]
    for i, (pk, weekday, opens, closes) in enumerate(rows):
        data |= {
            f"hours-{i}-id": pk,
            f"hours-{i}-calendar": calendar.pk,
            f"hours-{i}-weekday": weekday,
            f"hours-{i}-opens": opens,
            f"hours-{i}-closes": closes,
        }
        if pk and weekday in delete:
            data[f"hours-{i}-DELETE"] = "on"
    stored = list(calendar.holidays.order_by("id"))
    data |= inline_form(
        "holidays",
        calendar,
        [{"id": h.pk, "date": h.date, "name": h.name} for h in stored]
        + [{"id": "", "date": day, "name": ""} for day in holidays],
        initial=len(stored),
    )
    stored = list(calendar.workdays.order_by("id"))
    data |= inline_form(
        "workdays",
        calendar,
        [
            {"id": w.pk, "date": w.date, "opens": w.opens, "closes": w.closes, "name": w.name}
            for w in stored
        ]
        + [
            {"id": "", "date": day, "opens": opens, "closes": closes, "name": ""}
            for day, opens, closes in workdays
        ],
        initial=len(stored),
    )
    return data


def inline_form(prefix: str, calendar, rows: list[dict], *, initial: int) -> dict:
    """The rows of one inline of the calendar's change form, as posted."""
    data = {
        f"{prefix}-TOTAL_FORMS": len(rows),
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        data |= {f"{prefix}-{i}-{field}": value for field, value in row.items()}
        data[f"{prefix}-{i}-calendar"] = calendar.pk
    return data


def calendar_change_url(calendar) -> str:
    return f"/admin/tickets/businesscalendar/{calendar.pk}/change/"


def refused_hours(response) -> list[str]:
    """The errors the admin shows on the opening hours; the form came back (200)."""
    assert response.status_code == 200, response.status_code
    [hours] = [f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "hours"]
    errors = list(hours.formset.non_form_errors())
    for form_errors in hours.formset.errors:
        errors += [f"{field}: {message}" for field, ms in form_errors.items() for message in ms]
    return errors


@pytest.mark.parametrize(
    ("add", "timezone", "message"),
    [
        pytest.param(
            [(0, "17:00", "19:00")], None, "mon: 17:00–19:00 overlaps 09:00–18:00.", id="overlap"
        ),
        pytest.param(
            [(1, "20:00", "19:00")], None, "tue: 20:00–19:00 closes before it opens.", id="inverted"
        ),
        pytest.param(
            [(5, "10:00", "25:00")],
            None,
            "sat: '25:00' is not a time of day (HH:MM, 00:00 to 24:00).",
            id="not-a-time",
        ),
        pytest.param([], "Mars/Olympus_Mons", "Unknown time zone 'Mars/Olympus_Mons'.", id="zone"),
    ],
)
def test_the_admin_refuses_a_calendar_with_a_bad_interval_or_zone_and_names_it(
    admin_site, calendar, add, timezone, message
):
    before = stored_calendars()

    response = admin_site.post(
        calendar_change_url(calendar), calendar_form(calendar, timezone=timezone, add=add)
    )

    assert refused_hours(response) == [message]
    assert stored_calendars() == before


def test_the_admin_refuses_a_calendar_without_any_open_time(admin_site, calendar):
    before = stored_calendars()

    response = admin_site.post(
        calendar_change_url(calendar), calendar_form(calendar, delete=range(7))
    )

    assert refused_hours(response) == ["The calendar has no open time at all: add opening hours."]
    assert stored_calendars() == before


def test_the_admin_refuses_an_interval_without_a_closing_time_as_a_form_error(admin_site, calendar):
    response = admin_site.post(
        calendar_change_url(calendar), calendar_form(calendar, add=[(5, "10:00", "")])
    )

    assert refused_hours(response) == ["closes: This field is required."]
    assert calendar.hours.count() == 5


def test_saving_a_calendar_in_the_admin_recomputes_the_tickets_that_count_on_it(
    admin_site, calendar, agent, django_capture_on_commit_callbacks
):
    SlaTarget.objects.filter(metric="first_response").update(calendar=calendar)
    friday_evening = datetime(2026, 3, 6, 17, 55, tzinfo=SHANGHAI)
    ticket = open_ticket(now=friday_evening)
    assert first_response(ticket).due_at == datetime(2026, 3, 9, 9, 10, tzinfo=SHANGHAI)

    saturday_hours = calendar_form(calendar, add=[(5, "09:00", "18:00")])
    with (
        time_machine.travel(friday_evening + timedelta(minutes=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_site.post(calendar_change_url(calendar), saturday_hours)

    assert response.status_code == 302
    saturday_morning = datetime(2026, 3, 7, 9, 10, tzinfo=SHANGHAI)
    assert first_response(ticket).due_at == saturday_morning
    assert Ticket.objects.get(pk=ticket.pk).next_due_at == saturday_morning


def test_importing_chinese_holidays_adds_a_year_of_them_once(admin_site, calendar):
    url = f"/admin/tickets/businesscalendar/{calendar.pk}/import-holidays/"
    expected = holidays.country_holidays("CN", years=2026)

    first = admin_site.post(url, {"country": "cn", "year": 2026})
    second = admin_site.post(url, {"country": "CN", "year": 2026})

    assert (first.status_code, second.status_code) == (302, 302)
    stored = set(calendar.holidays.values_list("date", flat=True))
    assert stored == set(expected)
    assert {date(2026, 10, 1), date(2026, 2, 17)} <= stored  # National Day, Spring Festival
    assert Holiday.objects.count() == len(expected)
    assert calendar.work_calendar().is_open(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI)) is False


def test_importing_holidays_of_an_unknown_country_is_refused_on_the_form(admin_site, calendar):
    url = f"/admin/tickets/businesscalendar/{calendar.pk}/import-holidays/"
    response = admin_site.post(url, {"country": "XX", "year": 2026})
    assert response.status_code == 200
    assert "No holiday data for this country." in response.content.decode()
    assert not calendar.holidays.exists()


def test_importing_holidays_leaves_a_date_the_calendar_works_as_a_make_up_day(admin_site, calendar):
    BusinessCalendarWorkday.objects.create(calendar=calendar, date=date(2026, 10, 1))
    url = f"/admin/tickets/businesscalendar/{calendar.pk}/import-holidays/"

    response = admin_site.post(url, {"country": "CN", "year": 2026}, follow=True)

    assert [str(m) for m in response.context["messages"]][-1] == (
        "Left as they were, because the calendar has them as the other kind of day: 2026-10-01."
    )
    assert not calendar.holidays.filter(date=date(2026, 10, 1)).exists()
    assert calendar.holidays.filter(date=date(2026, 10, 2)).exists()
    assert calendar.work_calendar().is_open(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))


def refused_workdays(response) -> list[str]:
    """The errors the admin shows on the make-up working days; the form came back (200)."""
    assert response.status_code == 200, response.status_code
    [workdays] = [
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "workdays"
    ]
    errors = list(workdays.formset.non_form_errors())
    for form_errors in workdays.formset.errors:
        errors += [f"{field}: {message}" for field, ms in form_errors.items() for message in ms]
    return errors


NATIONAL_DAY_SATURDAY = date(2026, 10, 10)  # 国庆 2026's second make-up day


def test_saving_a_make_up_day_in_the_admin_opens_the_calendar_on_it_and_recomputes_the_tickets(
    admin_site, calendar, agent, django_capture_on_commit_callbacks
):
    SlaTarget.objects.filter(metric="first_response").update(calendar=calendar)
    friday_evening = datetime(2026, 3, 6, 17, 55, tzinfo=SHANGHAI)
    ticket = open_ticket(now=friday_evening)
    assert first_response(ticket).due_at == datetime(2026, 3, 9, 9, 10, tzinfo=SHANGHAI)

    saturday_worked = calendar_form(calendar, workdays=[(date(2026, 3, 7), "", "")])
    with (
        time_machine.travel(friday_evening + timedelta(minutes=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_site.post(calendar_change_url(calendar), saturday_worked)

    assert response.status_code == 302
    saturday_morning = datetime(2026, 3, 7, 9, 10, tzinfo=SHANGHAI)  # the Monday hours
    assert first_response(ticket).due_at == saturday_morning
    assert Ticket.objects.get(pk=ticket.pk).next_due_at == saturday_morning
    assert calendar.spec()["workdays"] == ["2026-03-07"]


def test_a_make_up_day_saved_in_the_admin_with_hours_of_its_own_keeps_them(admin_site, calendar):
    own_hours = [
        (NATIONAL_DAY_SATURDAY, "09:00", "12:00"),
        (NATIONAL_DAY_SATURDAY, "13:00", "17:00"),
    ]

    response = admin_site.post(
        calendar_change_url(calendar), calendar_form(calendar, workdays=own_hours)
    )

    assert response.status_code == 302
    assert calendar.spec()["workdays"] == {"2026-10-10": [["09:00", "12:00"], ["13:00", "17:00"]]}
    saturday = calendar.work_calendar()
    assert saturday.is_open(datetime(2026, 10, 10, 16, 30, tzinfo=SHANGHAI))
    assert not saturday.is_open(datetime(2026, 10, 10, 12, 30, tzinfo=SHANGHAI))


@pytest.mark.parametrize(
    ("stored", "posted"),
    [
        pytest.param((), [NATIONAL_DAY_SATURDAY], id="both-new"),
        pytest.param([NATIONAL_DAY_SATURDAY], (), id="holiday-stored"),
    ],
)
def test_the_admin_refuses_a_date_that_is_both_a_holiday_and_a_make_up_day_as_a_form_error(
    admin_site, calendar, stored, posted
):
    Holiday.objects.bulk_create(Holiday(calendar=calendar, date=day) for day in stored)
    before = stored_calendars()

    response = admin_site.post(
        calendar_change_url(calendar),
        calendar_form(calendar, holidays=posted, workdays=[(NATIONAL_DAY_SATURDAY, "", "")]),
    )

    assert refused_workdays(response) == ["2026-10-10 is both a holiday and a make-up working day."]
    assert stored_calendars() == before


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param(
            [(NATIONAL_DAY_SATURDAY, "18:00", "09:00")],
            "2026-10-10: 18:00–09:00 closes before it opens.",
            id="inverted",
        ),
        pytest.param(
            [(NATIONAL_DAY_SATURDAY, "09:00", "13:00"), (NATIONAL_DAY_SATURDAY, "12:00", "14:00")],
            "2026-10-10: 12:00–14:00 overlaps 09:00–13:00.",
            id="overlap",
        ),
        pytest.param(
            [(NATIONAL_DAY_SATURDAY, "", ""), (NATIONAL_DAY_SATURDAY, "13:00", "14:00")],
            "2026-10-10: give it hours of its own or leave the times empty for the Monday "
            "hours, not both.",
            id="monday-and-own-hours",
        ),
        pytest.param(
            [(NATIONAL_DAY_SATURDAY, "09:00", "")],
            "__all__: Give both the opening and the closing time, or neither for the Monday hours.",
            id="no-closing-time",
        ),
    ],
)
def test_the_admin_refuses_make_up_day_hours_that_do_not_read_and_names_them(
    admin_site, calendar, rows, message
):
    before = stored_calendars()

    response = admin_site.post(
        calendar_change_url(calendar), calendar_form(calendar, workdays=rows)
    )

    assert refused_workdays(response) == [message]
    assert stored_calendars() == before


def test_importing_mainland_china_adds_a_year_of_holidays_and_make_up_days_once(
    admin_site, calendar, django_capture_on_commit_callbacks
):
    url = f"/admin/tickets/businesscalendar/{calendar.pk}/import-china/"
    days_off = {d for d in chinese_calendar.holidays if d.year == 2026}
    worked = {d for d in chinese_calendar.workdays if d.year == 2026}

    assert admin_site.get(url).status_code == 200
    with django_capture_on_commit_callbacks() as first_recompute:
        first = admin_site.post(url, {"year": 2026})
    with django_capture_on_commit_callbacks() as second_recompute:
        second = admin_site.post(url, {"year": 2026})

    assert (first.status_code, second.status_code) == (302, 302)
    assert (len(first_recompute), len(second_recompute)) == (1, 0)  # nothing new the 2nd time
    assert set(calendar.holidays.values_list("date", flat=True)) == days_off
    assert set(calendar.workdays.values_list("date", flat=True)) == worked
    assert Holiday.objects.count() == len(days_off)
    assert BusinessCalendarWorkday.objects.count() == len(worked)
    # 国庆 2026: 1–7 October off, Sunday 20 September and Saturday 10 October worked.
    assert {date(2026, 10, d) for d in range(1, 8)} <= days_off
    assert {date(2026, 9, 20), NATIONAL_DAY_SATURDAY} <= worked
    assert calendar.holidays.get(date=date(2026, 10, 1)).name == "National Day"
    assert calendar.workdays.get(date=NATIONAL_DAY_SATURDAY).name == "National Day"
    hours = calendar.work_calendar()
    assert not hours.is_open(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))
    assert hours.is_open(datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI))


def test_importing_mainland_china_for_a_year_the_package_does_not_know_is_refused(
    admin_site, calendar
):
    url = f"/admin/tickets/businesscalendar/{calendar.pk}/import-china/"

    response = admin_site.post(url, {"year": 2000})

    assert response.status_code == 200
    assert "has no holidays for 2000 yet" in response.content.decode()
    assert not calendar.holidays.exists()
    assert not calendar.workdays.exists()


def test_an_import_leaves_a_date_the_calendar_has_as_the_other_kind_of_day(admin_site, calendar):
    Holiday.objects.create(calendar=calendar, date=NATIONAL_DAY_SATURDAY, name="Company outing")
    BusinessCalendarWorkday.objects.create(calendar=calendar, date=date(2026, 10, 1))

    response = admin_site.post(
        f"/admin/tickets/businesscalendar/{calendar.pk}/import-china/", {"year": 2026}, follow=True
    )

    shown = [str(m) for m in response.context["messages"]]
    assert (
        "Left as they were, because the calendar has them as the other kind of day: " in (shown[-1])
    )
    assert "2026-10-01, 2026-10-10" in shown[-1]
    assert calendar.holidays.get(date=NATIONAL_DAY_SATURDAY).name == "Company outing"
    assert not calendar.holidays.filter(date=date(2026, 10, 1)).exists()
    calendar.work_calendar()  # still reads: no date is both


# ==============================================================================================
# Admin: SLA policies
# ==============================================================================================


def policy_form(policy, *, active=None, targets=None) -> dict:
    """The change form of ``policy`` as the admin posts it; ``targets`` overrides fields of
    the target rows by metric, e.g. ``{"first_response": {"minutes": 30}}``."""
    data = {
        "name": policy.name,
        "position": policy.position,
        "targets-INITIAL_FORMS": policy.targets.count(),
        "targets-TOTAL_FORMS": policy.targets.count(),
        "targets-MIN_NUM_FORMS": 0,
        "targets-MAX_NUM_FORMS": 1000,
        "escalations-INITIAL_FORMS": policy.escalations.count(),
        "escalations-TOTAL_FORMS": policy.escalations.count(),
        "escalations-MIN_NUM_FORMS": 0,
        "escalations-MAX_NUM_FORMS": 1000,
    }
    if policy.active if active is None else active:
        data["active"] = "on"
    for field in ("kinds", "priorities", "channels", "customer_tiers"):
        data[field] = list(getattr(policy, field))
    data["teams"] = list(policy.teams.values_list("pk", flat=True))
    for i, target in enumerate(policy.targets.order_by("id")):
        row = {
            "id": target.pk,
            "policy": policy.pk,
            "metric": target.metric,
            "minutes": target.minutes,
            "calendar": target.calendar_id or "",
            "warning_percent": target.warning_percent,
            "pausing_statuses": list(target.pausing_statuses),
        }
        row |= (targets or {}).get(target.metric, {})
        data |= {f"targets-{i}-{field}": value for field, value in row.items()}
    for i, rule in enumerate(policy.escalations.all()):
        row = {
            "id": rule.pk,
            "policy": policy.pk,
            "metric": rule.metric,
            "minutes_after_breach": rule.minutes_after_breach,
            "action": rule.action,
            "user": rule.user_id or "",
            "team": rule.team_id or "",
        }
        data |= {f"escalations-{i}-{field}": value for field, value in row.items()}
    return data


def policy_change_url(policy) -> str:
    return f"/admin/tickets/slapolicy/{policy.pk}/change/"


def refused_targets(response) -> list[tuple[str, str]]:
    """``(metric, field)`` of every error the admin shows on the target rows."""
    assert response.status_code == 200, response.status_code
    [targets] = [
        f for f in response.context["inline_admin_formsets"] if f.formset.prefix == "targets"
    ]
    return [
        (form["metric"].value(), field) for form in targets.formset.forms for field in form.errors
    ]


@pytest.fixture
def default_policy():
    return SlaPolicy.objects.get(name="Default")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"minutes": 0}, id="zero-minutes"),
        pytest.param({"minutes": -15}, id="negative-minutes"),
        pytest.param({"warning_percent": 0}, id="warn-at-0"),
        pytest.param({"warning_percent": 100}, id="warn-at-100"),
        pytest.param({"warning_percent": 150}, id="warn-at-150"),
    ],
)
def test_the_admin_refuses_a_target_of_zero_or_below_or_a_warning_share_outside_0_100(
    admin_site, default_policy, change
):
    before = stored_policies()
    data = policy_form(default_policy, targets={"first_response": change})

    response = admin_site.post(policy_change_url(default_policy), data)

    [field] = change
    assert refused_targets(response) == [("first_response", field)]
    assert stored_policies() == before


def test_editing_a_policy_in_the_admin_moves_the_due_times_of_its_open_tickets(
    admin_site, default_policy, agent, django_capture_on_commit_callbacks
):
    ticket = open_ticket()
    assert first_response(ticket).due_at == at(15)
    data = policy_form(default_policy, targets={"first_response": {"minutes": 30}})

    with (
        time_machine.travel(at(5), tick=False),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        response = admin_site.post(policy_change_url(default_policy), data)

    assert response.status_code == 302
    assert len(callbacks) == 1  # the recompute, enqueued once the edit is committed
    clock = first_response(ticket)
    assert (clock.target_minutes, clock.used, clock.due_at) == (30, timedelta(minutes=5), at(30))
    assert Ticket.objects.get(pk=ticket.pk).next_due_at == at(30)


def test_an_edit_whose_recompute_the_broker_refuses_is_resynced_by_the_minutes_beat(
    admin_site, default_policy, agent, django_capture_on_commit_callbacks
):
    """The broker is down: the edit still saves, and every running clock is resynced by the
    ``sla-recompute-requested`` beat instead of the lost task."""
    from unittest import mock

    from kombu.exceptions import OperationalError

    from tickets.sla.recompute import sla_recompute_requested
    from tickets.tasks import sla_recompute_task

    ticket = open_ticket()
    data = policy_form(default_policy, targets={"first_response": {"minutes": 30}})
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with (
        time_machine.travel(at(5), tick=False),
        mock.patch.object(sla_recompute_task, "delay", side_effect=refused),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_site.post(policy_change_url(default_policy), data)

    assert response.status_code == 302
    assert first_response(ticket).due_at == at(15)  # not resynced yet
    assert TicketSettings.load().sla_recompute_requested_at == at(5)
    assert sla_recompute_requested(now=at(6)) == 1
    assert first_response(ticket).due_at == at(30)
    assert TicketSettings.load().sla_recompute_requested_at is None


def test_deactivating_a_policy_in_the_admin_cancels_its_clocks(
    admin_site, default_policy, agent, django_capture_on_commit_callbacks
):
    ticket = open_ticket()

    with (
        time_machine.travel(at(5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_site.post(
            policy_change_url(default_policy), policy_form(default_policy, active=False)
        )

    assert response.status_code == 302
    assert set(ticket.sla_clocks.values_list("status", flat=True)) == {"cancelled"}
    assert sla_sweep(now=at(60)) == SweepResult()  # no warning, no breach
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.next_due_at, ticket.next_warn_at) == (None, None)  # not shown as due


# ==============================================================================================
# API: /api/v1/sla/calendars/ and /api/v1/sla/policies/
# ==============================================================================================

CALENDARS_URL = "/api/v1/sla/calendars/"
POLICIES_URL = "/api/v1/sla/policies/"
WEEK_9_TO_18 = {
    "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
    "tue": [["09:00", "18:00"]],
    "wed": [["09:00", "18:00"]],
    "thu": [["09:00", "18:00"]],
    "fri": [["09:00", "18:00"]],
    "sat": [],
    "sun": [],
}


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def admin_api():
    return api_client(admin_user())


def shanghai_office(**changes) -> dict:
    return {
        "name": "Shanghai office",
        "timezone": "Asia/Shanghai",
        "week": WEEK_9_TO_18,
        "holidays": ["2026-10-01", "2026-10-02"],
        "workdays": [],
        **changes,
    }


def test_an_admin_replaces_a_calendar_through_the_api_and_reads_it_back(admin_api):
    response = admin_api.put(CALENDARS_URL, [shanghai_office()], format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == [shanghai_office()]
    assert admin_api.get(CALENDARS_URL).json() == [shanghai_office()]
    calendar = BusinessCalendar.objects.get(name="Shanghai office").work_calendar()
    assert calendar.is_open(datetime(2026, 3, 2, 12, 30, tzinfo=SHANGHAI)) is False  # lunch


@pytest.mark.parametrize(
    "workdays",
    [
        pytest.param(["2026-09-20", "2026-10-10"], id="monday-hours"),
        pytest.param(
            {"2026-09-20": None, "2026-10-10": [["09:00", "12:00"], ["13:00", "17:00"]]},
            id="own-hours",
        ),
    ],
)
def test_an_admin_replaces_a_calendars_make_up_days_through_the_api_and_reads_them_back(
    admin_api, django_capture_on_commit_callbacks, workdays
):
    office = shanghai_office(workdays=workdays)

    with django_capture_on_commit_callbacks() as recompute:
        response = admin_api.put(CALENDARS_URL, [office], format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == [office]
    assert admin_api.get(CALENDARS_URL).json() == [office]
    assert len(recompute) == 1
    calendar = BusinessCalendar.objects.get(name="Shanghai office").work_calendar()
    assert calendar.is_open(datetime(2026, 10, 10, 16, 30, tzinfo=SHANGHAI))
    # Sunday 20 September is worked with the Monday hours, lunch break included.
    assert calendar.is_open(datetime(2026, 9, 20, 10, 0, tzinfo=SHANGHAI))
    assert not calendar.is_open(datetime(2026, 9, 20, 12, 30, tzinfo=SHANGHAI))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param(
            {"workdays": ["2026-10-02"]},
            "2026-10-02 is both a holiday and a make-up working day.",
            id="holiday-too",
        ),
        pytest.param(
            {"workdays": {"2026-10-10": [["09:00", "13:00"], ["12:00", "14:00"]]}},
            "2026-10-10: 12:00–14:00 overlaps 09:00–13:00.",
            id="overlap",
        ),
        pytest.param(
            {"workdays": ["2026-10-32"]},
            "Make-up day '2026-10-32' is not a date (YYYY-MM-DD).",
            id="not-a-date",
        ),
    ],
)
def test_the_api_refuses_bad_make_up_days_naming_the_date_and_writes_nothing(
    admin_api, changes, message
):
    admin_api.put(CALENDARS_URL, [shanghai_office(workdays=["2026-09-20"])], format="json")
    before = stored_calendars()
    good = shanghai_office(name="Hangzhou office", workdays=["2026-10-10"])

    response = admin_api.put(CALENDARS_URL, [good, shanghai_office(**changes)], format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"[1] Shanghai office": [message]}
    assert stored_calendars() == before  # not even the good one before it


def test_an_admin_replaces_the_policies_through_the_api_and_reads_them_back(admin_api):
    admin_api.put(CALENDARS_URL, [shanghai_office()], format="json")
    TeamFactory(name="VIP desk")
    supervisor_user(username="duty.manager")
    policies = admin_api.get(POLICIES_URL).json()
    vip = {
        "name": "VIP chat",
        "active": True,
        "position": 5,
        "kinds": [],
        "priorities": ["high", "urgent"],
        "channels": ["web"],
        "customer_tiers": ["vip"],
        "teams": ["VIP desk"],
        "targets": [
            {
                "metric": "first_response",
                "minutes": 5,
                "calendar": "Shanghai office",
                "warning_percent": 60,
                "pausing_statuses": [],
                "hold_notifications_outside_hours": True,
            },
            {
                "metric": "handling",
                "minutes": 240,
                "calendar": None,
                "warning_percent": 80,
                "pausing_statuses": ["pending", "on_hold"],
                "hold_notifications_outside_hours": False,
            },
        ],
        "escalations": [
            {
                "metric": "first_response",
                "minutes_after_breach": 0,
                "action": "notify_user",
                "user": "duty.manager",
                "team": None,
            },
            {
                "metric": "first_response",
                "minutes_after_breach": 10,
                "action": "move_to_team",
                "user": None,
                "team": "VIP desk",
            },
        ],
    }
    wanted = [vip, *policies]

    response = admin_api.put(POLICIES_URL, wanted, format="json")

    assert response.status_code == 200, response.json()

    def by_metric(items):
        return [{**p, "targets": sorted(p["targets"], key=lambda t: t["metric"])} for p in items]

    assert by_metric(response.json()) == by_metric(wanted)
    assert by_metric(admin_api.get(POLICIES_URL).json()) == by_metric(wanted)


@pytest.mark.parametrize("url", [CALENDARS_URL, POLICIES_URL])
@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("agent", 403), ("supervisor", 403)],
)
def test_only_admins_may_read_or_replace_the_sla_configuration(url, who, status):
    user = {"anonymous": None, "agent": agent_user, "supervisor": supervisor_user}[who]
    client = api_client(user() if user else None)
    before = (stored_calendars(), stored_policies())

    assert client.get(url).status_code == status
    assert client.put(url, [shanghai_office()], format="json").status_code == status
    assert (stored_calendars(), stored_policies()) == before


@pytest.mark.parametrize(
    ("week", "timezone", "message"),
    [
        pytest.param(
            {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]},
            "Asia/Shanghai",
            "mon: 11:00–13:00 overlaps 09:00–12:00.",
            id="overlap",
        ),
        pytest.param(
            {"wed": [["18:00", "09:00"]]},
            "Asia/Shanghai",
            "wed: 18:00–09:00 closes before it opens.",
            id="inverted",
        ),
        pytest.param(
            WEEK_9_TO_18, "Asia/Beijing", "Unknown time zone 'Asia/Beijing'.", id="unknown-zone"
        ),
        pytest.param(
            {day: [] for day in WEEK_9_TO_18},
            "Asia/Shanghai",
            "The calendar has no open time at all: add opening hours.",
            id="never-open",
        ),
    ],
)
def test_the_api_refuses_a_bad_calendar_naming_the_interval_and_writes_nothing(
    admin_api, week, timezone, message
):
    admin_api.put(CALENDARS_URL, [shanghai_office()], format="json")
    before = stored_calendars()
    good = shanghai_office(name="Hangzhou office")
    bad = shanghai_office(week=week, timezone=timezone)

    response = admin_api.put(CALENDARS_URL, [good, bad], format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"[1] Shanghai office": [message]}
    assert stored_calendars() == before  # not even the good one before it


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"minutes": 0}, id="zero-minutes"),
        pytest.param({"minutes": -1}, id="negative-minutes"),
        pytest.param({"minutes": 7.5}, id="fractional-minutes"),
        pytest.param({"warning_percent": 0}, id="warn-at-0"),
        pytest.param({"warning_percent": 100}, id="warn-at-100"),
        pytest.param({"warning_percent": -20}, id="warn-below-0"),
    ],
)
def test_the_api_refuses_a_target_of_zero_or_below_or_a_warning_share_outside_0_100(
    admin_api, change
):
    before = stored_policies()
    policies = admin_api.get(POLICIES_URL).json()
    default = next(p for p in policies if p["name"] == "Default")
    target = next(t for t in default["targets"] if t["metric"] == "first_response")
    target.update(change)
    policies[0]["position"] = 1  # a good change ahead of the bad one is not kept either

    response = admin_api.put(POLICIES_URL, policies, format="json")

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["Default.first_response"], errors
    assert stored_policies() == before


# --- Malformed configuration: a 400 naming the problem, nothing written --------------------------


def _default_policy(**changes) -> dict:
    policy = next(p for p in config.policies_export() if p["name"] == "Default")
    return {**policy, **changes}


def _with_target(**changes) -> dict:
    policy = _default_policy()
    policy["targets"] = [
        {**t, **changes} if t["metric"] == "first_response" else t for t in policy["targets"]
    ]
    return policy


MALFORMED_POLICIES = {
    "item-not-an-object": lambda: [1],
    "item-null": lambda: [None],
    "name-a-number": lambda: [_default_policy(name=5)],
    "name-500-chars": lambda: [_default_policy(name="政" * 500)],
    "name-with-nul": lambda: [_default_policy(name="Def\x00ault")],
    "targets-an-object": lambda: [_default_policy(targets={})],
    "target-not-an-object": lambda: [_default_policy(targets=[5])],
    "escalations-a-string": lambda: [_default_policy(escalations="raise")],
    "position-2-to-the-40": lambda: [_default_policy(position=2**40)],
    "position-fractional": lambda: [_default_policy(position=1.5)],
    "position-negative": lambda: [_default_policy(position=-1)],
    "active-the-string-false": lambda: [_default_policy(active="false")],
    "minutes-2-to-the-31": lambda: [_with_target(minutes=2**31)],
    "minutes-a-string": lambda: [_with_target(minutes="15")],
    "unknown-metric": lambda: [_with_target(metric="speed")],
    "kinds-not-a-list": lambda: [_default_policy(kinds="complaint")],
    "unknown-kind": lambda: [_default_policy(kinds=["refund"])],
    "team-name-a-number": lambda: [_default_policy(teams=[7])],
    "escalation-minutes-2-to-the-31": lambda: [
        _default_policy(
            escalations=[
                {
                    "metric": "first_response",
                    "minutes_after_breach": 2**31,
                    "action": "notify_supervisor",
                }
            ]
        )
    ],
    "a-body-that-is-no-list": lambda: {"name": "Default"},
}


@pytest.mark.parametrize("payload", MALFORMED_POLICIES.values(), ids=MALFORMED_POLICIES.keys())
def test_a_malformed_policy_payload_is_a_400_and_changes_nothing(admin_api, payload):
    before = stored_policies()

    response = admin_api.put(POLICIES_URL, payload(), format="json")

    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"]
    assert stored_policies() == before


def test_a_refused_policy_is_named_with_the_field_at_fault(admin_api):
    policies = config.policies_export()
    policies[-1] = {**policies[-1], "active": "false"}
    response = admin_api.put(POLICIES_URL, policies, format="json")
    assert response.json()["errors"] == {
        f"{policies[-1]['name']}.active": ["Must be a valid boolean."]
    }


MALFORMED_CALENDARS = {
    "item-not-an-object": lambda: [1],
    "item-null": lambda: [None],
    "name-a-number": lambda: [shanghai_office(name=5)],
    "name-500-chars": lambda: [shanghai_office(name="日" * 500)],
    "name-with-nul": lambda: [shanghai_office(name="Shang\x00hai")],
    "week-a-list": lambda: [shanghai_office(week=[["09:00", "18:00"]])],
    "interval-of-three": lambda: [shanghai_office(week={"mon": [["09:00", "12:00", "18:00"]]})],
    "interval-numbers": lambda: [shanghai_office(week={"mon": [[9, 18]]})],
    "holiday-not-a-date": lambda: [shanghai_office(holidays=["soon"])],
    "workdays-a-number": lambda: [shanghai_office(workdays=5)],
    "workday-hours-a-number": lambda: [shanghai_office(workdays={"2026-10-10": 5})],
    "timezone-a-number": lambda: [shanghai_office(timezone=8)],
}


@pytest.mark.parametrize("payload", MALFORMED_CALENDARS.values(), ids=MALFORMED_CALENDARS.keys())
def test_a_malformed_calendar_payload_is_a_400_and_changes_nothing(admin_api, payload):
    admin_api.put(CALENDARS_URL, [shanghai_office()], format="json")
    before = stored_calendars()

    response = admin_api.put(CALENDARS_URL, payload(), format="json")

    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "invalid"
    assert stored_calendars() == before
