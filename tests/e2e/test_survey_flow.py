"""A survey in a real browser: the customer opens the link on a phone, reads it in Chinese
(then English), answers 2 with a comment and sees the thank-you page; the team supervisor
finds the follow-up (回访) ticket in their queue.

The live server commits for real: the survey is scheduled on the solve's commit and sent by a
sweep, and the follow-up is opened by the task queued after the answer's commit (run eagerly
in tests).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from surveys.models import SurveyResponse
from surveys.sweeper import surveys_sweep
from tests.e2e.conftest import login
from tests.factories import CustomerFactory, MessageFactory, TicketFactory
from tests.refunds.helpers import default_team, desk_agent, desk_supervisor
from tickets.choices import TicketStatus
from tickets.services import ticket_update

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"
PHONE = {"width": 390, "height": 844}
COMMENT = "等了三天才有人回复，问题也没解决"


def _survey_link_sent_for_a_solved_ticket(agent):
    customer = CustomerFactory(name="王芳", email="wang.fang@example.com")
    ticket = TicketFactory(
        team=default_team(), assignee=agent, customer=customer, subject="快递三天没有更新"
    )
    MessageFactory(ticket=ticket, body="我的快递三天没有更新了，请帮我查一下")
    solved_at = timezone.now() - timedelta(days=1, minutes=1)
    ticket_update(ticket=ticket, by_user=agent, status=TicketStatus.SOLVED, now=solved_at)
    result = surveys_sweep()
    assert result.sent == 1
    path = re.search(r"/s/[A-Za-z0-9_-]{43}", mail.outbox[-1].body).group(0)
    return ticket, path


def test_the_customer_answers_2_and_the_supervisor_finds_the_follow_up(page, screenshot):
    team = default_team()
    supervisor = desk_supervisor(
        username="zhou.min", password=PASSWORD, first_name="Min", last_name="Zhou"
    )
    team.supervisor = supervisor
    team.save(update_fields=["supervisor"])
    agent = desk_agent(username="li.na", password=PASSWORD)
    ticket, path = _survey_link_sent_for_a_solved_ticket(agent)

    # The customer, on a phone, in Chinese: they wrote to us in Chinese.
    page.set_viewport_size(PHONE)
    page.goto(path)
    expect(page.locator("#survey-question")).to_have_text("您对本次客服服务满意吗？")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    screenshot("survey-csat-zh-phone")
    page.click("#lang-en")
    expect(page.locator("#survey-question")).to_have_text(
        "How satisfied are you with the help you received?"
    )
    screenshot("survey-csat-en-phone")
    page.click("#lang-zh-hans")
    page.fill("#id_comment", COMMENT)
    page.click("#score-2")
    expect(page.locator("#survey-thanks")).to_be_visible()
    expect(page.locator("h1")).to_have_text("感谢您的评价！")
    screenshot("survey-thanks-zh-phone")

    # Opening the link again: already answered, kindly.
    page.goto(path)
    expect(page.locator("#survey-answered")).to_be_visible()

    response = SurveyResponse.objects.get()
    assert (response.score, response.comment) == (2, COMMENT)
    follow_up = response.follow_up_ticket
    assert follow_up is not None
    assert follow_up.assignee_id == supervisor.pk

    # The supervisor finds it in their queue and reads the comment and the original ticket.
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, "zhou.min", PASSWORD)
    page.wait_for_url(re.compile(r"/desk/$"))
    row = page.locator(f"[data-queue-rows] tr[data-number='{follow_up.number}']")
    expect(row).to_be_visible()
    expect(row).to_contain_text("回访")
    expect(row).to_contain_text("Min Zhou")
    screenshot("survey-follow-up-queue")
    page.goto(f"/desk/tickets/{follow_up.number}/")
    expect(page.locator("#conversation")).to_contain_text(COMMENT)
    expect(page.locator("#conversation")).to_contain_text(ticket.number)
    screenshot("survey-follow-up-ticket")
