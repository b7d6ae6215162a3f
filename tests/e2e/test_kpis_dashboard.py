"""The KPI dashboard in a real browser: a supervisor opens it, changes the period and the
team, sees the charts drawn, and downloads a table as CSV; the live monitor refreshes itself."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from kpis.rollups.refresh import kpis_rebuild
from tests.e2e.conftest import login
from tests.factories import supervisor_user
from tests.kpis.conftest import at
from tests.kpis.helpers import busy_week, targets_default, teams_with_agents

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]
PASSWORD = "secret-pass-123"


@pytest.fixture
def week():
    targets_default()
    teams = teams_with_agents()
    boss = supervisor_user(username="zhang.wei", password=PASSWORD, first_name="伟")
    for team in teams:
        team.supervisor = boss
        team.save()
    busy_week(teams)
    kpis_rebuild(now=at(23, 0))
    return {"boss": boss, "teams": list(teams)}


def test_a_supervisor_changes_period_and_team_sees_charts_and_downloads_csv(page, screenshot, week):
    login(page, "zhang.wei", PASSWORD)
    page.goto("/kpis/?period=week&date=2026-11-18")
    expect(page.locator("#kpi-period")).to_contain_text("2026-11-16 – 2026-11-22")
    expect(page.locator("body")).to_have_attribute("data-charts", "drawn")
    expect(page.locator("#chart-volume .main-svg").first).to_be_visible()
    created = page.locator('.tile[data-metric="tickets_created"] .tile-value')
    expect(created).to_have_text("98")  # 14 a day for 7 days
    screenshot("kpis-dashboard-week")

    page.select_option("#kpi-period-select", "day")  # applies itself
    expect(page.locator("#kpi-period")).to_contain_text("2026-11-18 – 2026-11-18")
    expect(created).to_have_text("14")

    page.select_option("#kpi-period-select", "week")
    expect(page.locator("#kpi-period")).to_contain_text("2026-11-16 – 2026-11-22")
    team = week["teams"][0]
    page.select_option("#kpi-team", str(team.pk))
    expect(page.locator("#kpi-team")).to_have_value(str(team.pk))
    expect(page.locator("#kpi-by-team tbody tr")).to_have_count(1)
    expect(page.locator("#kpi-by-team tbody tr td").first).to_have_text(team.name)
    expect(page.locator("body")).to_have_attribute("data-charts", "drawn")
    team_created = int(created.inner_text())
    assert 0 < team_created < 98

    with page.expect_download() as download_info:
        page.click("#csv-team")
    content = download_info.value.path().read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:3] == ["team", "tickets_created", "tickets_solved"]
    assert rows[1][0] == team.name
    assert int(rows[1][1]) == team_created


def test_the_live_monitor_refreshes_itself(page, screenshot, week):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import TicketFactory

    soon = TicketFactory(
        team=week["teams"][0],
        subject="快递三天没更新",
        next_due_at=timezone.now() + timedelta(minutes=6),
    )
    login(page, "zhang.wei", PASSWORD)
    page.goto("/kpis/live/")
    expect(page.locator("#live-agents tbody tr")).to_have_count(6)
    expect(page.locator("#live-breaching")).to_contain_text(soon.number)
    first = page.locator("#live-updated").inner_text()
    screenshot("kpis-live")
    page.clock.install()
    page.clock.run_for(16_000)
    expect(page.locator("#live-updated")).not_to_have_text(first, timeout=20_000)
