"""Background polls (the live monitor, the queue rows, the notification bell) are not activity:
a desk left open goes idle after 30 minutes like any other, and the poll that finds the session
over sends the browser to the sign-in page instead of swapping the sign-in form into a tile."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template.loader import render_to_string

from tests.factories import agent_user, supervisor_user

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_BACKGROUND_POLL": "1"}
ON_LIVE_PAGE = {"HTTP_HX_CURRENT_URL": "http://testserver/kpis/live/?team=3"}


def poll_live_panel(client):
    return client.get("/kpis/live/panel/", **POLL, **ON_LIVE_PAGE)


def poll_every_15_seconds(client, traveller, *, minutes: int) -> None:
    for _ in range(minutes * 4):
        traveller.shift(timedelta(seconds=15))
        assert poll_live_panel(client).status_code == 200


def test_polls_alone_let_the_session_expire_after_30_idle_minutes(client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(supervisor_user())
        assert client.get("/kpis/live/").status_code == 200

        poll_every_15_seconds(client, traveller, minutes=29)
        traveller.shift(timedelta(seconds=75))  # 30 minutes and 15 seconds since the page
        expired = poll_live_panel(client)

        assert expired.status_code == 401
        assert expired["HX-Redirect"] == "/login/?next=/kpis/live/%3Fteam%3D3"
        assert expired.content == b""  # nothing for htmx to swap into the tile
        assert client.get("/kpis/live/").status_code == 302  # signed out for good


def test_a_real_click_refreshes_the_idle_time_that_polls_do_not(client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(supervisor_user())
        poll_every_15_seconds(client, traveller, minutes=20)
        assert client.get("/kpis/").status_code == 200  # the supervisor navigates

        poll_every_15_seconds(client, traveller, minutes=29)  # 49 minutes after sign-in
        assert client.get("/kpis/live/").status_code == 200

        traveller.shift(timedelta(minutes=30, seconds=1))
        assert poll_live_panel(client).status_code == 401


def test_an_htmx_action_is_activity(client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(agent_user())
        traveller.shift(timedelta(minutes=25))
        assert client.get("/desk/notifications/bell/", HTTP_HX_REQUEST="true").status_code == 200
        traveller.shift(timedelta(minutes=25))
        assert client.get("/desk/notifications/bell/", **POLL).status_code == 200


def test_the_bell_and_queue_polls_do_not_refresh_the_session_either(client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(agent_user())
        for _ in range(60):
            traveller.shift(timedelta(seconds=30))
            assert client.get("/desk/notifications/bell/", **POLL).status_code == 200
            assert client.get("/desk/?page=1", **POLL).status_code == 200
        traveller.shift(timedelta(seconds=1))

        expired = client.get("/desk/notifications/bell/", **POLL, HTTP_HX_CURRENT_URL="/desk/")

        assert expired.status_code == 401
        assert expired["HX-Redirect"] == "/login/?next=/desk/"


def test_a_session_past_12_hours_ends_on_a_poll_too(client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(supervisor_user())
        for _ in range(12 * 3):
            traveller.shift(timedelta(minutes=20))
            assert client.get("/kpis/live/").status_code == 200
        traveller.shift(timedelta(minutes=1))

        assert poll_live_panel(client).status_code == 401


def test_a_signed_out_browser_polling_is_sent_to_the_sign_in_page(client):
    response = poll_live_panel(client)

    assert response.status_code == 401
    assert response["HX-Redirect"] == "/login/?next=/kpis/live/%3Fteam%3D3"


def test_an_expired_page_load_still_redirects_as_before(client):
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(agent_user())
        traveller.shift(timedelta(minutes=31))
        response = client.get("/desk/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/desk/")


def test_the_next_page_is_never_another_site(client):
    response = client.get(
        "/kpis/live/panel/", **POLL, HTTP_HX_CURRENT_URL="https://evil.example//evil.example/x"
    )
    assert response["HX-Redirect"] == "/login/?next=/"


@pytest.mark.parametrize(
    ("template", "context", "marked"),
    [
        ("kpis/live.html", {}, 'id="live-panel"'),
        ("tickets/partials/queue_rows.html", {"poll_url": "/desk/"}, 'id="queue-rows"'),
    ],
)
def test_the_self_refreshing_fragments_are_marked_as_background_polls(template, context, marked):
    html = render_to_string(template, context)
    tag = html[html.index(marked) :].split(">", 1)[0]
    assert "data-background-poll" in tag
    assert 'hx-trigger="every' in tag


def test_the_bell_is_marked_as_a_background_poll(client):
    client.force_login(agent_user())
    html = client.get("/desk/").content.decode()
    tag = html[html.index('class="bell"') :].split(">", 1)[0]
    assert "data-background-poll" in tag
    assert 'hx-trigger="load, every 30s"' in tag
