"""The delivery state of a ticket's messages in a real browser: a reply whose e-mail the mail
server refused shows why, and its Retry button sends it again in place (htmx, no reload)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messaging.email_sender import emails_send_due
from messaging.models import EmailMessage
from orders.choices import Channel
from tests.e2e.conftest import login
from tests.factories import (
    CustomerFactory,
    TeamFactory,
    TicketFactory,
    inbound_email,
    mailbox_of,
    online_agent,
)
from tickets.services import ticket_reply

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"


def test_an_agent_sees_a_refused_email_and_sends_it_again(page, screenshot, smtp):
    team = TeamFactory(name="杭州客服组")
    mailbox_of(team, address="support@shop.example", display_name="杭州旗舰店客服")
    agent = online_agent(team, username="li.na", password=PASSWORD)
    customer = CustomerFactory(name="王芳", email="wang.fang@example.com")
    ticket = TicketFactory(
        team=team, assignee=agent, customer=customer, channel=Channel.EMAIL, subject="物流问题"
    )
    inbound_email(ticket, header_id="q1@customer.example")
    sent = ticket_reply(ticket=ticket, user=agent, body="您好，我们正在查询物流。")
    smtp.handler.refuse_rcpt = "550 5.2.2 <wang.fang@example.com>: mailbox full"
    refused = ticket_reply(ticket=ticket, user=agent, body="已补发，\n单号 SF1234567890。")
    emails_send_due(now=timezone.now())
    assert EmailMessage.objects.get(message=refused).status == EmailMessage.Status.FAILED
    ticket_reply(ticket=ticket, user=agent, body="内部：客户邮箱已满", internal=True)

    login(page, "li.na", PASSWORD)
    page.goto(f"/desk/tickets/{ticket.number}/")
    page.evaluate("window.__noReload = true")

    sent_state = page.locator(f"#deliveries-{sent.pk}")
    expect(sent_state).to_contain_text("E-mail")
    expect(sent_state).to_contain_text("sent at")
    refused_state = page.locator(f"#deliveries-{refused.pk}")
    expect(refused_state).to_contain_text("failed: SMTP 550: 5.2.2 <address>: mailbox full")
    expect(page.locator(".msg-agent .msg-channel").first).to_have_text("E-mail")
    assert "wang.fang@example.com" not in page.content()
    screenshot("email-delivery-failed")

    smtp.handler.refuse_rcpt = ""  # the customer emptied their mailbox
    refused_state.get_by_role("button", name="Retry").click()

    refused_state = page.locator(f"#deliveries-{refused.pk}")
    expect(refused_state).to_contain_text("sent at")
    expect(refused_state.get_by_role("button", name="Retry")).to_have_count(0)
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    assert len(smtp.received) == 2
    assert EmailMessage.objects.get(message=refused).status == EmailMessage.Status.SENT
    screenshot("email-delivery-retried")
