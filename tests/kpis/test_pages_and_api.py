"""Who sees the KPIs, which teams' figures, and that page, API and CSV give the same numbers."""

import csv
import io
from datetime import date, timedelta

import pytest
from rest_framework.test import APIClient

from kpis.rollups.refresh import kpis_rebuild
from tests.factories import (
    TeamFactory,
    TicketFactory,
    admin_user,
    agent_user,
    online_agent,
    storefront_api_key,
    supervisor_user,
)
from tickets.choices import TicketStatus

from .conftest import at

pytestmark = pytest.mark.django_db
WEEK = {"from": "2026-11-16", "to": "2026-11-22"}


@pytest.fixture
def two_teams():
    """Team North: 3 tickets this week (2 solved); team South: 2 tickets (0 solved)."""
    boss = supervisor_user(username="boss")
    north = TeamFactory(name="North", supervisor=boss)
    south = TeamFactory(name="South")
    agent = online_agent(north, username="li.na")
    for n, status in enumerate((TicketStatus.SOLVED, TicketStatus.SOLVED, TicketStatus.OPEN)):
        TicketFactory(team=north, assignee=agent, status=status, created_at=at(16, 9 + n))
    for n in range(2):
        TicketFactory(team=south, status=TicketStatus.OPEN, created_at=at(17, 9 + n))
    kpis_rebuild(now=at(23, 0))
    return {"boss": boss, "north": north, "south": south, "agent": agent}


def _metric(body, key):
    return next(m for m in body["metrics"] if m["key"] == key)


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_only_supervisors_and_admins_open_the_dashboard(client, two_teams):
    assert client.get("/kpis/").status_code == 302  # to the sign-in page
    client.force_login(agent_user())
    assert client.get("/kpis/").status_code == 404
    assert client.get("/kpis/live/").status_code == 404
    client.force_login(two_teams["boss"])
    page = client.get("/kpis/", {"period": "week", "date": "2026-11-18"})
    assert page.status_code == 200
    assert b'data-metric="resolution_rate"' in page.content
    assert b"kpi-chart-data" in page.content


def test_supervisors_see_their_teams_and_admins_all(two_teams):
    body = _api(two_teams["boss"]).get("/api/v1/kpis/summary/", WEEK).json()
    assert _metric(body, "tickets_created")["value"] == 3  # North only
    assert _metric(body, "tickets_solved")["value"] == 2
    assert _metric(body, "resolution_rate")["value"] == pytest.approx(100 * 2 / 3)
    refused = _api(two_teams["boss"]).get(
        "/api/v1/kpis/summary/", {**WEEK, "team": two_teams["south"].pk}
    )
    assert refused.status_code == 400  # not one of their teams
    everything = _api(admin_user()).get("/api/v1/kpis/summary/", WEEK).json()
    assert _metric(everything, "tickets_created")["value"] == 5
    south = _api(admin_user()).get("/api/v1/kpis/summary/", {**WEEK, "team": two_teams["south"].pk})
    assert _metric(south.json(), "tickets_created")["value"] == 2


def test_summary_carries_definitions_targets_and_colours(two_teams):
    body = _api(two_teams["boss"]).get("/api/v1/kpis/summary/", WEEK).json()
    resolution = _metric(body, "resolution_rate")
    assert resolution["target"] == {"value": 95.0, "direction": "higher", "met": False}
    assert "no longer open" in resolution["definition"]
    assert _metric(body, "csat")["value"] is None  # no responses: no figure
    assert _metric(body, "csat")["target"]["met"] is None
    assert body["period"] == {
        "from": "2026-11-16",
        "to": "2026-11-22",
        "time_zone": "Asia/Shanghai",
    }


def test_api_refuses_bad_input_and_other_principals(two_teams):
    assert APIClient().get("/api/v1/kpis/summary/").status_code == 401
    _key, raw = storefront_api_key()
    storefront = APIClient(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert storefront.get("/api/v1/kpis/summary/").status_code == 403
    assert _api(agent_user()).get("/api/v1/kpis/summary/").status_code == 403
    boss = _api(two_teams["boss"])
    bad = boss.get("/api/v1/kpis/summary/", {"from": "2026-11-20", "to": "2026-11-01"})
    assert bad.status_code == 400
    assert "to" in bad.json()["errors"]
    assert boss.get("/api/v1/kpis/summary/", {"from": "2026-11-20"}).status_code == 400
    assert boss.get("/api/v1/kpis/summary/", {"agent": "nobody"}).status_code == 400
    assert boss.get("/api/v1/kpis/summary/", {"from": "yesterday", "to": "x"}).status_code == 400
    assert boss.get("/api/v1/kpis/export/", {"table": "nope"}).status_code == 400
    far = boss.get("/api/v1/kpis/summary/", {"period": "week", "date": "9999-12-31"})
    assert far.status_code == 400
    assert "date" in far.json()["errors"]
    assert boss.get("/api/v1/kpis/summary/", {"team": "north"}).status_code == 400
    assert boss.get("/api/v1/kpis/summary/", {"agent": "a\x00b"}).status_code == 400


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_export_has_the_same_numbers_as_the_api_and_the_page(client, two_teams):
    boss = two_teams["boss"]
    body = _api(boss).get("/api/v1/kpis/summary/", WEEK).json()
    api_rows = _csv(_api(boss).get("/api/v1/kpis/export/", {**WEEK, "table": "summary"}))
    client.force_login(boss)
    page_rows = _csv(client.get("/kpis/export/", {**WEEK, "table": "summary"}))
    assert api_rows == page_rows
    assert api_rows[0][:5] == ["metric", "name", "group", "unit", "value"]
    by_key = {row[0]: row for row in api_rows[1:]}
    assert by_key["tickets_created"][4] == "3"
    assert float(by_key["resolution_rate"][4]) == pytest.approx(
        _metric(body, "resolution_rate")["value"], abs=0.01
    )
    agents = _csv(client.get("/kpis/export/", {**WEEK, "table": "agent"}))
    assert agents[0][0] == "agent"
    assert agents[1][0] == two_teams["agent"].get_full_name()
    assert agents[1][2] == "2"  # tickets solved


def test_period_picker_bounds_in_the_business_time_zone(client, two_teams):
    client.force_login(two_teams["boss"])
    week = client.get("/kpis/", {"period": "week", "date": "2026-11-18"})
    assert week.context["kpi"].slice.start == date(2026, 11, 16)
    assert week.context["kpi"].slice.end == date(2026, 11, 22)
    month = client.get("/kpis/", {"period": "month", "date": "2026-11-18"})
    assert (month.context["kpi"].slice.start, month.context["kpi"].slice.end) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    day = client.get("/kpis/", {"period": "day", "date": "2026-11-16"})
    tiles = {m["key"]: m for m in day.context["tiles"]}
    assert tiles["tickets_created"]["value"] == 3  # 09:00–11:00 Shanghai, Monday


def test_dashboard_queries_do_not_grow_with_rows(client, two_teams, django_assert_max_num_queries):
    client.force_login(two_teams["boss"])
    with django_assert_max_num_queries(40):
        client.get("/kpis/", WEEK)
    for n in range(30):
        TicketFactory(team=two_teams["north"], created_at=at(18, 9) + timedelta(minutes=n))
    kpis_rebuild(now=at(23, 0))
    with django_assert_max_num_queries(40):
        client.get("/kpis/", WEEK)


def test_live_monitor_shows_queues_breaching_soon_and_agents(client, two_teams):
    from django.utils import timezone

    now = timezone.now()
    soon = TicketFactory(
        team=two_teams["north"], status=TicketStatus.OPEN, next_due_at=now + timedelta(minutes=5)
    )
    client.force_login(two_teams["boss"])
    page = client.get("/kpis/live/")
    assert page.status_code == 200
    assert b'hx-trigger="every 15s"' in page.content
    panel = client.get("/kpis/live/panel/")
    html = panel.content.decode()
    assert soon.number in html  # warns 30 min before its due time: breaching soon now
    assert "North" in html
    assert "South" not in html
    live = panel.context["live"]
    assert [a["agent"] for a in live["agents"]] == [two_teams["agent"].get_full_name()]
    assert live["agents"][0]["open"] == 1
