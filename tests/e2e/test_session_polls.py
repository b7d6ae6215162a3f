"""In a real browser: the desk's self-refreshing fragments (the notification bell, the queue
rows, the live monitor) tell the server they are background polls, a click does not, and the
poll that finds the session over sends the browser to the sign-in page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.factories import TeamFactory, online_agent

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "secret-pass-123"


@pytest.fixture
def agent():
    return online_agent(TeamFactory(name="Polls"), username="li.na", password=PASSWORD)


def test_the_bell_polls_in_the_background_and_a_click_does_not(page, agent):
    polls: list[str | None] = []
    page.on(
        "request",
        lambda request: (
            polls.append(request.headers.get("x-background-poll"))
            if "/desk/notifications/bell/" in request.url
            else None
        ),
    )
    login(page, "li.na", PASSWORD)
    page.goto("/desk/")
    expect(page.locator("a.bell")).to_be_visible()
    page.wait_for_timeout(500)

    assert polls
    assert set(polls) == {"1"}


def test_a_poll_after_the_idle_limit_opens_the_sign_in_page(page, agent, settings):
    settings.SESSION_IDLE_SECONDS = 2
    login(page, "li.na", PASSWORD)
    page.clock.install()
    page.goto("/desk/")
    time.sleep(3)  # the server's clock: the session is now idle too long

    page.clock.run_for(31_000)  # the bell's next poll

    expect(page).to_have_url(re.compile(r"/login/\?next=/desk/$"))
    expect(page.locator("#id_username")).to_be_visible()
