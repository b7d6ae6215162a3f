"""Several e-mail senders share the queue: a row one holds is skipped by the others, never
waited for, and no e-mail is sent twice (PostgreSQL's SKIP LOCKED, real threads, a real SMTP
server)."""

import asyncio
import threading
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from messaging.email_sender import emails_send_due
from messaging.models import EmailMessage
from tests.factories import TeamFactory, TicketFactory, mailbox_of
from tests.messaging.helpers import row_locked_elsewhere

pytestmark = [
    pytest.mark.postgres(reason="SELECT ... FOR UPDATE SKIP LOCKED"),
    pytest.mark.django_db(transaction=True),
]


def queued_emails(count: int) -> list[EmailMessage]:
    """``count`` queued e-mails, written as rows (their producers' wake-ups play no part)."""
    team = TeamFactory()
    mailbox = mailbox_of(team)
    ticket = TicketFactory(team=team)
    now = timezone.now()
    return EmailMessage.objects.bulk_create(
        EmailMessage(
            mailbox=mailbox,
            direction=EmailMessage.Direction.OUTBOUND,
            kind=EmailMessage.Kind.CONVERSATION,
            status=EmailMessage.Status.QUEUED,
            customer_address=f"customer{i}@example.com",
            subject=f"Re: 订单咨询 [{ticket.number}]",
            body_text=f"第 {i} 封",
            ticket=ticket,
            header_id=f"{i:04d}.{ticket.number}@shop.example",
            next_attempt_at=now,
            created_at=now,
        )
        for i in range(count)
    )


def test_two_concurrent_senders_never_send_one_email_twice(smtp):
    emails = queued_emails(40)
    original = smtp.handler.handle_DATA

    async def slow_data(server, session, envelope):
        await asyncio.sleep(0.02)  # the senders overlap for the whole run
        return await original(server, session, envelope)

    smtp.handler.handle_DATA = slow_data
    start = threading.Barrier(2)
    attempted: list[int] = []

    def sender():
        try:
            start.wait(10)
            attempted.append(emails_send_due(batch_size=5))
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    sent = Counter(r.message["Message-ID"] for r in smtp.received)
    assert sorted(sent) == sorted(f"<{e.header_id}>" for e in emails)
    assert set(sent.values()) == {1}, "an e-mail was sent twice"
    assert sum(attempted) == 40
    assert all(attempted), f"both senders took part: {attempted}"
    assert set(EmailMessage.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_an_email_locked_by_another_sender_is_skipped_not_waited_for(smtp):
    held, free = queued_emails(2)
    with row_locked_elsewhere(EmailMessage, held.pk):
        attempted = emails_send_due()  # would block on the held row without SKIP LOCKED

    assert attempted == 1
    assert [r.message["Message-ID"] for r in smtp.received] == [f"<{free.header_id}>"]
    held.refresh_from_db()
    assert held.status == EmailMessage.Status.QUEUED
    assert held.attempts == 0
