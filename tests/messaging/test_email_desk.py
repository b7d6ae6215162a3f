"""The desk shows on every public message where it went and whether it got there: the e-mail
("sent at", "queued", "failed: reason" with a Retry button), the storefront's webhook, or why
nothing went; for the whole conversation in a fixed number of queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.choices import WebhookEventType
from messaging.email_sender import emails_send_due
from messaging.models import EmailMessage, WebhookDelivery
from orders.choices import Channel
from tests.factories import (
    CustomerFactory,
    MessageFactory,
    TeamFactory,
    TicketFactory,
    mailbox_of,
    online_agent,
    webhook_endpoint,
)
from tests.messaging.helpers import SHOP
from tickets.choices import AuthorKind
from tickets.services import ticket_customer_message, ticket_reply

HTMX = {"HTTP_HX_REQUEST": "true"}
T0 = timezone.now().replace(microsecond=0)


def html(response) -> str:
    return response.content.decode()


def email_ticket(*, mailbox=True, email="wang.fang@example.com"):
    team = TeamFactory()
    if mailbox:
        mailbox_of(team, display_name="杭州旗舰店客服")
    agent = online_agent(team)
    ticket = TicketFactory(
        team=team, assignee=agent, customer=CustomerFactory(email=email), channel=Channel.EMAIL
    )
    return ticket, agent


def deliveries_of(page: str, message_pk: int) -> str:
    return page.split(f'id="deliveries-{message_pk}"', 1)[1].split("</ul>", 1)[0]


@pytest.mark.django_db
def test_a_failed_email_shows_its_reason_and_a_retry_button_that_sends_it_again(
    client, smtp, django_capture_on_commit_callbacks
):
    smtp.handler.refuse_rcpt = "550 5.1.1 <wang.fang@example.com>: mailbox unavailable"
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好，已为您补发。", now=T0)
    emails_send_due(now=T0)
    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.FAILED
    client.force_login(agent)

    page = html(client.get(f"/desk/tickets/{ticket.number}/"))

    shown = deliveries_of(page, reply.pk)
    assert "failed: SMTP 550: 5.1.1 &lt;address&gt;: mailbox unavailable" in shown
    retry_url = f"/desk/tickets/{ticket.number}/emails/{email.pk}/retry/"
    assert f'hx-post="{retry_url}"' in shown
    assert "wang.fang" not in page  # the address is never on the page

    smtp.handler.refuse_rcpt = ""  # the mailbox works again
    with django_capture_on_commit_callbacks(execute=True):  # the sender is woken on commit
        response = client.post(retry_url, **HTMX)

    assert response.status_code == 200
    email.refresh_from_db()
    assert email.status == EmailMessage.Status.SENT
    assert email.attempts == 2
    assert [r.message["Message-ID"] for r in smtp.received] == [f"<{email.header_id}>"]
    # The answer was rendered at the commit, before the woken sender sent it.
    assert "queued" in html(response)
    assert "Retry" not in html(response)
    page = html(client.get(f"/desk/tickets/{ticket.number}/"))
    assert "sent at" in deliveries_of(page, reply.pk)


@pytest.mark.django_db
def test_only_a_failed_email_can_be_retried_and_the_refusal_shows_in_place(client, smtp):
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    emails_send_due(now=T0)
    email = EmailMessage.objects.get(message=reply)
    client.force_login(agent)

    response = client.post(f"/desk/tickets/{ticket.number}/emails/{email.pk}/retry/", **HTMX)

    assert response.status_code == 409
    assert 'role="alert"' in html(response)
    assert "Only a failed e-mail can be sent again; this one is Sent." in html(response)
    assert len(smtp.received) == 1


@pytest.mark.django_db
def test_an_agent_of_another_team_cannot_retry_an_email(client):
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    email = EmailMessage.objects.get(message=reply)
    EmailMessage.objects.filter(pk=email.pk).update(status=EmailMessage.Status.FAILED)
    client.force_login(online_agent(TeamFactory()))

    response = client.post(f"/desk/tickets/{ticket.number}/emails/{email.pk}/retry/", **HTMX)

    assert response.status_code == 404
    email.refresh_from_db()
    assert email.status == EmailMessage.Status.FAILED


@pytest.mark.django_db
def test_an_email_of_another_ticket_is_not_found_through_this_one(client):
    ticket, agent = email_ticket()
    other = TicketFactory(team=ticket.team, channel=Channel.EMAIL)
    reply = ticket_reply(ticket=other, user=agent, body="您好", now=T0)
    email = EmailMessage.objects.get(message=reply)
    client.force_login(agent)

    response = client.post(f"/desk/tickets/{ticket.number}/emails/{email.pk}/retry/", **HTMX)

    assert response.status_code == 404


@pytest.mark.django_db
def test_the_retry_button_needs_the_csrf_token(agent_with_failed_email):
    ticket, agent, email = agent_with_failed_email
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    response = client.post(f"/desk/tickets/{ticket.number}/emails/{email.pk}/retry/", **HTMX)

    assert response.status_code == 403
    email.refresh_from_db()
    assert email.status == EmailMessage.Status.FAILED


@pytest.fixture
def agent_with_failed_email(db):
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    email = EmailMessage.objects.get(message=reply)
    EmailMessage.objects.filter(pk=email.pk).update(
        status=EmailMessage.Status.FAILED, last_error="SMTP 550: 5.1.1 <address>: no such user"
    )
    return ticket, agent, email


@pytest.mark.django_db
def test_queued_and_sent_emails_show_their_state(client, smtp):
    ticket, agent = email_ticket()
    sent = ticket_reply(ticket=ticket, user=agent, body="第一封", now=T0)
    emails_send_due(now=T0)
    queued = ticket_reply(ticket=ticket, user=agent, body="第二封", now=T0 + timedelta(minutes=1))
    client.force_login(agent)

    page = html(client.get(f"/desk/tickets/{ticket.number}/"))

    sent_at = timezone.localtime(EmailMessage.objects.get(message=sent).sent_at)
    assert f"sent at {sent_at:%Y-%m-%d %H:%M}" in deliveries_of(page, sent.pk)
    assert "queued" in deliveries_of(page, queued.pk)
    assert '<span class="msg-channel">E-mail</span>' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mailbox", "address", "reason"),
    [(False, "a@example.com", "the team has no mailbox"), (True, None, "no address")],
)
def test_a_reply_that_could_not_be_emailed_says_why(client, mailbox, address, reason):
    ticket, agent = email_ticket(mailbox=mailbox, email=address)
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    client.force_login(agent)

    page = html(client.get(f"/desk/tickets/{ticket.number}/"))

    assert f"not sent: {reason}" in deliveries_of(page, reply.pk)
    assert "Retry" not in deliveries_of(page, reply.pk)


@pytest.mark.django_db
def test_a_reply_delivered_to_the_storefront_shows_the_webhook_state(client, receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_MESSAGE_CREATED])
    team = TeamFactory()
    agent = online_agent(team)
    ticket = TicketFactory(team=team, assignee=agent, channel=Channel.WEB)
    reply = ticket_reply(ticket=ticket, user=agent, body="已处理", now=T0)
    note = ticket_reply(ticket=ticket, user=agent, body="内部备注", internal=True, now=T0)
    _, customer_says = ticket_customer_message(ticket=ticket, body="谢谢", actor=SHOP, now=T0)
    WebhookDelivery.objects.filter(event__message=reply).update(
        status="failed", last_error="HTTP 500: oops"
    )
    client.force_login(agent)

    page = html(client.get(f"/desk/tickets/{ticket.number}/"))

    assert "Storefront" in deliveries_of(page, reply.pk)
    assert "failed: HTTP 500: oops" in deliveries_of(page, reply.pk)
    assert "queued" in deliveries_of(page, customer_says.pk)
    assert f'id="deliveries-{note.pk}"' not in page  # internal notes go nowhere


@pytest.mark.django_db
def test_a_reply_that_went_nowhere_says_so(client):
    team = TeamFactory()
    agent = online_agent(team)
    ticket = TicketFactory(team=team, assignee=agent, channel=Channel.WEB)
    reply = ticket_reply(ticket=ticket, user=agent, body="已处理", now=T0)
    client.force_login(agent)

    page = html(client.get(f"/desk/tickets/{ticket.number}/"))

    assert "not sent: no webhook of the storefront takes messages" in deliveries_of(page, reply.pk)


def _conversation(ticket, agent, size: int) -> None:
    """``size`` public messages, every other one an agent's reply that was e-mailed (some sent,
    some failed) and delivered to the storefront's webhook."""
    for i in range(size):
        if i % 2:
            reply = ticket_reply(
                ticket=ticket, user=agent, body=f"回复 {i}", now=T0 + timedelta(minutes=i)
            )
            if i % 4 == 3:
                EmailMessage.objects.filter(message=reply).update(
                    status=EmailMessage.Status.FAILED, last_error="SMTP 550: no"
                )
        else:
            MessageFactory(
                ticket=ticket,
                author_kind=AuthorKind.CUSTOMER,
                created_at=T0 + timedelta(minutes=i),
            )


@pytest.mark.django_db
def test_the_delivery_states_cost_the_same_queries_for_2_and_30_messages(
    client, receiver, django_assert_num_queries
):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_MESSAGE_CREATED])
    small, agent = email_ticket()
    _conversation(small, agent, 2)
    large = TicketFactory(
        team=small.team, assignee=agent, customer=small.customer, channel=Channel.EMAIL
    )
    _conversation(large, agent, 30)
    client.force_login(agent)

    with CaptureQueriesContext(connection) as small_page:
        client.get(f"/desk/tickets/{small.number}/")
    with django_assert_num_queries(len(small_page.captured_queries)) as large_page:
        response = client.get(f"/desk/tickets/{large.number}/")

    # The e-mails, the webhook deliveries, and the team's mailbox (an e-mail ticket).
    messaging = [q for q in large_page.captured_queries if '"messaging_' in q["sql"]]
    assert len(messaging) == 3
    page = html(response)
    assert page.count('class="deliveries"') == 15  # the replies; the customer's went nowhere
    assert page.count(">Retry</button>") == len(range(3, 30, 4))


@pytest.mark.django_db
def test_the_agent_api_carries_each_messages_delivery(smtp):
    from rest_framework.test import APIClient

    ticket, agent = email_ticket()
    sent = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    emails_send_due(now=T0)
    note = ticket_reply(ticket=ticket, user=agent, body="备注", internal=True, now=T0)
    api = APIClient()
    api.force_authenticate(agent)

    messages = api.get(f"/api/v1/tickets/{ticket.number}/").json()["messages"]

    by_body = {m["body"]: m["delivery"] for m in messages}
    [email] = by_body[sent.body]
    assert email["way"] == "email"
    assert email["state"] == "sent"
    assert email["at"] is not None
    assert email["reason"] == ""
    assert by_body[note.body] == []


@pytest.mark.django_db
def test_an_admin_sees_emails_with_masked_addresses_and_sends_a_failed_one_again(
    admin_client_, agent_with_failed_email, django_capture_on_commit_callbacks
):
    _, _, email = agent_with_failed_email

    listing = html(admin_client_.get("/admin/messaging/emailmessage/"))
    assert "w***@example.com" in listing
    assert "wang.fang@example.com" not in listing
    detail = html(admin_client_.get(f"/admin/messaging/emailmessage/{email.pk}/change/"))
    assert "wang.fang@example.com" not in detail

    with django_capture_on_commit_callbacks(execute=False):
        admin_client_.post(
            "/admin/messaging/emailmessage/",
            {"action": "send_again", "_selected_action": [email.pk]},
        )

    email.refresh_from_db()
    assert email.status == EmailMessage.Status.QUEUED
