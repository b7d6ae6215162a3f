"""E-mail out: an agent's public reply on an e-mail ticket leaves as e-mail from the team's
address, threaded, as text and HTML, after the commit; failures are retried with backoff for
24 hours, then failed with a reason that names no one. Against a real SMTP server (aiosmtpd).
"""

from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from django.db import transaction
from django.utils import timezone

from messaging.email_sender import emails_send_due
from messaging.models import EmailMessage
from messaging.tasks import email_messages_send_task
from orders.choices import Channel
from tests.factories import (
    CustomerFactory,
    TeamFactory,
    TicketFactory,
    inbound_email,
    mailbox_of,
    online_agent,
)
from tickets.services import ticket_reply

T0 = timezone.now().replace(microsecond=0)


def email_ticket(*, mailbox=True, email="wang.fang@example.com", subject="物流问题", **kwargs):
    team = TeamFactory(name="杭州客服组")
    if mailbox:
        mailbox_of(team, address="support@shop.example", display_name="杭州旗舰店客服")
    agent = online_agent(team)
    customer = CustomerFactory(email=email)
    ticket = TicketFactory(
        team=team, assignee=agent, customer=customer, channel=Channel.EMAIL, subject=subject
    )
    return ticket, agent


@pytest.mark.django_db(transaction=True)
def test_a_public_reply_on_an_email_ticket_arrives_from_the_team_address_threaded(smtp):
    ticket, agent = email_ticket()
    inbound_email(ticket, header_id="first@customer.example")
    inbound_email(
        ticket, header_id="second@customer.example", references="<first@customer.example>"
    )

    reply = ticket_reply(ticket=ticket, user=agent, body="您好，包裹已发出。\n单号 <SF123>。")

    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.SENT
    assert email.sent_at is not None
    assert email.attempts == 1
    [received] = smtp.received
    mail = received.message
    assert received.rcpt_tos == ["wang.fang@example.com"]
    assert mail["From"].addresses[0].display_name == "杭州旗舰店客服"
    assert mail["From"].addresses[0].addr_spec == "support@shop.example"
    assert mail["Reply-To"].addresses[0].addr_spec == "support@shop.example"
    assert mail["Message-ID"] == f"<{email.header_id}>"
    assert email.header_id.endswith(f".{ticket.number}@shop.example")
    assert mail["In-Reply-To"] == "<second@customer.example>"
    assert mail["References"] == "<first@customer.example> <second@customer.example>"
    assert "Auto-Submitted" not in mail
    assert str(mail["Subject"]) == f"Re: 物流问题 [{ticket.number}]"
    # Headers are ASCII: the Chinese subject and name travel as RFC 2047 encoded words.
    raw_headers = received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    raw_subject = next(line for line in raw_headers.splitlines() if line.startswith("Subject:"))
    assert "=?utf-8?" in raw_subject.lower()
    assert (
        str(make_header(decode_header(raw_subject[len("Subject:") :])))
        .strip()
        .startswith("Re: 物流问题")
    )
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "您好，包裹已发出。\n单号 <SF123>。" in text.replace("\r\n", "\n")
    assert ticket.number in text
    assert "您好，包裹已发出。<br>单号 &lt;SF123&gt;。" in html
    assert "<SF123>" not in html
    assert "杭州旗舰店客服" in html
    assert ticket.number in html


@pytest.mark.django_db(transaction=True)
def test_the_first_reply_threads_onto_nothing_and_a_later_one_onto_the_earlier(smtp):
    ticket, agent = email_ticket()

    first = ticket_reply(ticket=ticket, user=agent, body="第一封回复")
    second = ticket_reply(ticket=ticket, user=agent, body="第二封回复")

    first_mail, second_mail = (r.message for r in smtp.received)
    assert "In-Reply-To" not in first_mail
    assert "References" not in first_mail
    first_id = EmailMessage.objects.get(message=first).header_id
    assert second_mail["In-Reply-To"] == f"<{first_id}>"
    assert second_mail["References"] == f"<{first_id}>"
    # The reply quotes the ticket's earlier public messages under it.
    second_text = second_mail.get_body(preferencelist=("plain",)).get_content()
    assert "> 第一封回复" in second_text
    assert EmailMessage.objects.get(message=second).status == EmailMessage.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_an_english_reply_is_wrapped_in_the_english_template_a_chinese_one_in_the_chinese(smtp):
    ticket, agent = email_ticket(subject="Where is my parcel?")

    ticket_reply(ticket=ticket, user=agent, body="Hello, your parcel left today.")
    ticket_reply(ticket=ticket, user=agent, body="您好，包裹今天已发出。")

    english, chinese = (
        r.message.get_body(preferencelist=("plain",)).get_content() for r in smtp.received
    )
    assert f"Ticket {ticket.number}. Reply to this e-mail to add to it." in english
    assert f"工单 {ticket.number}" in chinese
    assert "Re: Where is my parcel? [" in str(smtp.received[0].message["Subject"])


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_reply_sends_no_email(smtp):
    ticket, agent = email_ticket()

    queued_with_the_reply = []

    def reply_then_fail():
        with transaction.atomic():
            ticket_reply(ticket=ticket, user=agent, body="这封不会寄出")
            queued_with_the_reply.append(EmailMessage.objects.count())
            raise RuntimeError("the request failed after the reply")

    with pytest.raises(RuntimeError):
        reply_then_fail()

    assert queued_with_the_reply == [1]
    assert EmailMessage.objects.count() == 0  # rolled back with the reply
    email_messages_send_task()
    assert smtp.received == []


@pytest.mark.django_db(transaction=True)
def test_internal_notes_are_never_emailed(smtp):
    ticket, agent = email_ticket()

    ticket_reply(ticket=ticket, user=agent, body="客户很着急", internal=True)

    assert EmailMessage.objects.count() == 0
    assert smtp.received == []


@pytest.mark.django_db
def test_a_reply_on_a_ticket_of_another_channel_is_not_emailed():
    team = TeamFactory()
    mailbox_of(team)
    agent = online_agent(team)
    ticket = TicketFactory(team=team, assignee=agent, channel=Channel.WEB)

    ticket_reply(ticket=ticket, user=agent, body="已处理")

    assert EmailMessage.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("mailbox", "address"), [(False, "a@example.com"), (True, None)])
def test_no_email_is_queued_without_a_mailbox_or_a_customer_address(mailbox, address):
    ticket, agent = email_ticket(mailbox=mailbox, email=address)

    ticket_reply(ticket=ticket, user=agent, body="您好")

    assert EmailMessage.objects.count() == 0


@pytest.mark.django_db
def test_a_queued_email_whose_wake_up_was_lost_is_sent_by_the_beat_sweep(smtp):
    ticket, agent = email_ticket()
    # A test transaction that never commits: the wake-up after commit never runs.
    reply = ticket_reply(ticket=ticket, user=agent, body="您好")
    assert smtp.received == []

    assert email_messages_send_task() == 1

    assert len(smtp.received) == 1
    assert EmailMessage.objects.get(message=reply).status == EmailMessage.Status.SENT
    assert email_messages_send_task() == 0  # sent once, never again


# --- Failures -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_temporary_refusal_is_retried_with_growing_backoff_then_failed_after_24_hours(smtp):
    smtp.handler.refuse_rcpt = "451 4.3.0 <wang.fang@example.com> mailbox busy, try later"
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    email = EmailMessage.objects.get(message=reply)

    emails_send_due(now=T0)

    email.refresh_from_db()
    assert email.status == EmailMessage.Status.QUEUED
    assert email.attempts == 1
    assert email.last_error.startswith("SMTP 451: 4.3.0 <address> mailbox busy")
    assert "wang.fang" not in email.last_error  # no personal data in the reason
    first_wait = email.next_attempt_at - T0
    assert timedelta(seconds=5) <= first_wait <= timedelta(seconds=10)
    assert emails_send_due(now=T0 + first_wait - timedelta(seconds=1)) == 0  # not due yet

    at = email.next_attempt_at
    for _ in range(5):
        emails_send_due(now=at)
        email.refresh_from_db()
        at = email.next_attempt_at
    assert email.attempts == 6
    assert email.status == EmailMessage.Status.QUEUED
    assert email.next_attempt_at - T0 > timedelta(minutes=2)  # the waits grow

    emails_send_due(now=T0 + timedelta(hours=24))

    email.refresh_from_db()
    assert email.status == EmailMessage.Status.FAILED
    assert email.next_attempt_at is None
    assert email.last_error.startswith("SMTP 451")
    assert smtp.received == []


@pytest.mark.django_db
def test_a_permanent_refusal_fails_at_once_with_its_reason(smtp):
    smtp.handler.refuse_rcpt = "550 5.1.1 <wang.fang@example.com>: Recipient address rejected"
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)

    emails_send_due(now=T0)

    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.FAILED
    assert email.attempts == 1
    assert email.last_error == "SMTP 550: 5.1.1 <address>: Recipient address rejected"


@pytest.mark.django_db
def test_a_refused_message_body_fails_at_once(smtp):
    smtp.handler.refuse_data = "554 5.6.0 Message rejected as spam"
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)

    emails_send_due(now=T0)

    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.FAILED
    assert email.last_error == "SMTP 554: 5.6.0 Message rejected as spam"


@pytest.mark.django_db
def test_a_mail_server_that_cannot_be_reached_is_retried(settings):
    from tests.messaging.smtp import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 1
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)

    emails_send_due(now=T0)

    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.QUEUED
    assert email.attempts == 1
    assert email.last_error.startswith("ConnectionRefusedError")
    assert email.next_attempt_at > T0


@pytest.mark.django_db
def test_one_failing_email_does_not_hold_back_the_others_of_its_batch(smtp):
    ticket, agent = email_ticket()
    refused = ticket_reply(ticket=ticket, user=agent, body="第一封", now=T0)
    EmailMessage.objects.filter(message=refused).update(customer_address="bad@refused.example")
    accepted = ticket_reply(ticket=ticket, user=agent, body="第二封", now=T0)

    original = smtp.handler.handle_RCPT

    async def refuse_one(server, session, envelope, address, rcpt_options):
        if address == "bad@refused.example":
            return "550 5.1.1 no such user"
        return await original(server, session, envelope, address, rcpt_options)

    smtp.handler.handle_RCPT = refuse_one
    emails_send_due(now=T0)

    assert EmailMessage.objects.get(message=refused).status == EmailMessage.Status.FAILED
    assert EmailMessage.objects.get(message=accepted).status == EmailMessage.Status.SENT
    assert [r.rcpt_tos for r in smtp.received] == [["wang.fang@example.com"]]


@pytest.mark.django_db
def test_an_address_that_cannot_be_written_fails_at_once_without_being_retried(smtp):
    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)
    EmailMessage.objects.filter(message=reply).update(customer_address="wang\nfang@example.com")

    emails_send_due(now=T0)

    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.FAILED
    assert email.last_error  # the kind of error, never the address
    assert "fang" not in email.last_error
    assert smtp.received == []


@pytest.mark.django_db
def test_an_email_to_a_customer_erased_before_it_left_is_never_sent(smtp):
    from csplatform.actors import Actor
    from privacy.services import customer_erase

    ticket, agent = email_ticket()
    reply = ticket_reply(ticket=ticket, user=agent, body="您好", now=T0)

    customer_erase(customer=ticket.customer, requested_by=Actor.system("test"), now=T0)
    emails_send_due(now=T0)

    email = EmailMessage.objects.get(message=reply)
    assert email.status == EmailMessage.Status.FAILED
    assert email.last_error == "no address"
    assert smtp.received == []
