"""Customer notices on the desk in a real browser: the plan an agent proposes on the complaint
panel appears at once in the conversation as the reply to the customer, and the timeline says
which notices the customer was sent and how, in English and Chinese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.models import CustomerNotice, EmailMessage
from tests.e2e.conftest import login
from tests.factories import MailboxFactory, TeamFactory, online_agent, storefront_api_key
from tickets.models import TicketSettings

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"


def test_the_proposed_plan_is_posted_to_the_conversation_and_the_notices_are_on_the_timeline(
    page, screenshot
):
    team = TeamFactory(name="投诉组")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    MailboxFactory(team=team, address="complaints@shop.example.cn")
    online_agent(team, username="li.na", password=PASSWORD, first_name="娜", last_name="李")
    _, key = storefront_api_key("shop")
    filed = page.request.post(
        "/api/v1/complaints/",
        headers={"Authorization": f"Api-Key {key}", "Idempotency-Key": "notice-e2e-1"},
        data={
            "customer": {
                "external_id": "C-90101",
                "name": "王小芳",
                "phone": "13912345678",
                "email": "xiaofang@example.com",
            },
            "category": "product_quality",
            "channel": "app",
            "description": "新买的外套洗一次就严重褪色，要求处理",
        },
    )
    assert filed.status == 201, filed.text()
    ticket_number = filed.json()["ticket_number"]

    login(page, "li.na", PASSWORD)
    page.wait_for_url(re.compile(r"/desk/$"))
    page.goto(f"/desk/tickets/{ticket_number}/")
    page.evaluate("window.__noReload = true")
    page.click("#complaint-accept")
    expect(page.locator("#complaint-status")).to_have_text("Accepted")
    page.click("#complaint-investigate")
    expect(page.locator("#complaint-status")).to_have_text("Investigating")
    page.fill("#complaint-plan-input", "为您补发一件新外套，并赠送20元优惠券")
    page.click("#complaint-propose")
    expect(page.locator("#complaint-status")).to_have_text("Plan proposed")

    reply = page.locator("#conversation article.msg-agent").last
    expect(reply).to_contain_text("为您补发一件新外套，并赠送20元优惠券")
    expect(reply).to_contain_text("Reply to the customer")
    timeline = page.locator("#ticket-timeline")
    expect(timeline).to_contain_text("Customer notified Complaint plan proposed · E-mail")
    expect(timeline).to_contain_text("Customer notified Complaint accepted · E-mail")
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    screenshot("customer-notices-ticket-en")

    page.select_option("select[name=language]", "zh-hans")
    expect(page.locator("#ticket-timeline")).to_contain_text("已通知客户 投诉处理方案已提出 · 邮件")
    screenshot("customer-notices-ticket-zh")

    assert list(CustomerNotice.objects.order_by("id").values_list("notice_type", flat=True)) == [
        "complaint_accepted",
        "complaint_plan_proposed",
    ]
    assert EmailMessage.objects.filter(kind="notice", status="sent").count() == 2
