"""Complaints on the desk in a real browser: a complaint filed through the storefront API
appears in the complaints queue, is accepted, escalated, given a plan and confirmed by the
customer through the API; the panel reads in English and Chinese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from complaints.models import Complaint
from tests.e2e.conftest import login
from tests.factories import (
    TeamFactory,
    online_agent,
    storefront_api_key,
    supervisor_user,
)
from tickets.models import TicketSettings

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"


def _complaints_team():
    boss = supervisor_user(username="zhao.lei", password=PASSWORD, first_name="磊", last_name="赵")
    team = TeamFactory(name="投诉组", supervisor=boss)
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    agent = online_agent(team, username="li.na", password=PASSWORD, first_name="娜", last_name="李")
    return team, agent


def test_a_complaint_filed_through_the_api_is_accepted_escalated_planned_and_confirmed(
    page, screenshot
):
    _complaints_team()
    _, key = storefront_api_key("shop")
    headers = {"Authorization": f"Api-Key {key}", "Idempotency-Key": "complaint-e2e-1"}

    filed = page.request.post(
        "/api/v1/complaints/",
        headers=headers,
        data={
            "customer": {"external_id": "C-90001", "name": "王小芳", "phone": "13912345678"},
            "category": "product_quality",
            "channel": "app",
            "description": "新买的外套洗一次就严重褪色，要求处理",
        },
    )
    assert filed.status == 201, filed.text()
    number, ticket_number = filed.json()["number"], filed.json()["ticket_number"]

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.click("#nav-complaints")
    page.wait_for_url(re.compile(r"/desk/complaints/$"))
    row = page.locator(f"#complaint-queue tr[data-complaint='{number}']")
    expect(row).to_contain_text("Minor")
    expect(row).to_contain_text("Received")
    expect(row).to_contain_text("王*")  # masked in the queue
    expect(row).not_to_contain_text("王小芳")
    screenshot("complaints-queue-en")

    row.locator("a").first.click()
    page.wait_for_url(re.compile(rf"/desk/tickets/{ticket_number}/"))
    page.evaluate("window.__noReload = true")
    panel = page.locator("#complaint-panel")
    expect(panel.locator("#complaint-number")).to_have_text(number)

    page.click("#complaint-accept")
    expect(page.locator("#complaint-status")).to_have_text("Accepted")
    page.click("#complaint-investigate")
    expect(page.locator("#complaint-status")).to_have_text("Investigating")
    page.fill("#complaint-note", "仓库确认同批次有色差")
    page.click("#complaint-add-note")
    expect(page.locator("#complaint-notes")).to_contain_text("仓库确认同批次有色差")

    page.fill("#complaint-escalate-reason", "客户要求主管介入")
    page.click("#complaint-escalate")
    expect(page.locator("#complaint-level")).to_contain_text("Level 2")
    expect(page.locator("#complaint-timeline")).to_contain_text("客户要求主管介入")

    page.fill("#complaint-plan-input", "为您补发一件新外套，并赠送20元优惠券")
    page.click("#complaint-propose")
    expect(page.locator("#complaint-status")).to_have_text("Plan proposed")
    page.select_option("#complaint-remedy-type", "replacement")
    page.fill("#complaint-remedy-note", "补发新外套")
    page.click("#complaint-record-remedy")
    expect(page.locator("#complaint-remedy")).to_contain_text("Replacement")
    page.click("#complaint-ask-confirm")
    expect(page.locator("#complaint-status")).to_have_text("Awaiting the customer's confirmation")
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    screenshot("complaints-panel-en")

    # The customer sees progress and the plan, not the internal note, and confirms.
    progress = page.request.get(f"/api/v1/complaints/{number}/", headers=headers)
    assert progress.json()["plan"] == "为您补发一件新外套，并赠送20元优惠券"
    assert "仓库确认同批次有色差" not in progress.text()
    confirmed = page.request.post(
        f"/api/v1/complaints/{number}/confirm/",
        headers=headers,
        data={"accepted": True, "comment": "满意"},
    )
    assert confirmed.status == 200, confirmed.text()

    page.reload()
    expect(page.locator("#complaint-status")).to_have_text("Closed")
    expect(page.locator("#complaint-closed-as")).to_have_text("Resolved, confirmed by the customer")

    page.select_option("select[name=language]", "zh-hans")
    expect(page.locator("#complaint-status")).to_have_text("已关闭")
    screenshot("complaints-panel-zh")
    page.goto("/desk/complaints/?status=closed")
    expect(page.locator(f"#complaint-queue tr[data-complaint='{number}']")).to_contain_text(
        "已关闭"
    )
    screenshot("complaints-queue-zh")

    complaint = Complaint.objects.get(number=number)
    assert (complaint.status, complaint.escalation_level, complaint.closed_as) == (
        "closed",
        2,
        "confirmed",
    )
    assert complaint.ticket.milestones.keys() == {"acceptance", "plan"}


def test_an_agent_files_a_complaint_from_an_inquiry_ticket(page, screenshot):
    _complaints_team()
    _, key = storefront_api_key("shop")
    opened = page.request.post(
        "/api/v1/tickets/",
        headers={"Authorization": f"Api-Key {key}"},
        data={
            "customer": {"external_id": "C-90002", "name": "刘洋", "phone": "13700001111"},
            "kind": "inquiry",
            "channel": "chat",
            "subject": "快递一周没动",
            "body": "再不到我要投诉了",
        },
    )
    assert opened.status == 201
    number = opened.json()["number"]

    login(page, "li.na", PASSWORD)
    page.goto(f"/desk/tickets/{number}/")
    page.click("#start-complaint summary")
    page.select_option("#complaint-category", "logistics")
    page.fill("#complaint-description", "物流一周未更新，客户要求投诉")
    screenshot("complaints-start-en")
    page.click("#complaint-file")

    expect(page.locator("#complaint-panel")).to_contain_text("Logistics")
    assert page.url.endswith(f"/desk/tickets/{number}/")
    complaint = Complaint.objects.get()
    assert complaint.ticket.number == number
    assert complaint.ticket.kind == "complaint"
