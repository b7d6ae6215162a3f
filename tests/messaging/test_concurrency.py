"""Several workers share the deliveries: a row one holds is skipped by the others, never
waited for, and never sent twice at once."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from messaging.choices import WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from tests.factories import CustomerFactory, webhook_endpoint
from tests.messaging.helpers import row_locked_elsewhere, ticket_filed


@pytest.mark.postgres(reason="SELECT ... FOR UPDATE SKIP LOCKED")
@pytest.mark.django_db(transaction=True)
def test_a_delivery_locked_by_another_worker_is_skipped_not_waited_for(receiver, settings):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    with transaction.atomic():  # one commit: the wake-up after it finds no receiver yet...
        first = ticket_filed(CustomerFactory(), subject="held by the other worker")
        ticket_filed(CustomerFactory(), subject="free")
    # ...so it delivered both: make them due again for the workers below.
    assert len(receiver.received) == 2
    receiver.received.clear()
    WebhookDelivery.objects.update(status="pending", next_attempt_at=timezone.now())
    held = WebhookDelivery.objects.get(event__ordering_key=f"ticket:{first.pk}")

    with row_locked_elsewhere(WebhookDelivery, held.pk):
        sent = deliveries_send_due()  # would block on the held row without SKIP LOCKED

    assert sent == 1
    assert [r.document["data"]["ticket"]["subject"] for r in receiver.received] == ["free"]


def _at_once(work, count: int) -> list:
    """Run ``work(i)`` in ``count`` threads released together, each with its own connection."""
    start, results, errors = threading.Barrier(count), [None] * count, []

    def run(i):
        try:
            start.wait(10)
            results[i] = work(i)
        except Exception as exc:  # reported below, with the thread's failure
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results


@pytest.mark.postgres(reason="concurrent writers on one unique Message-ID (SQLite serialises)")
@pytest.mark.django_db(transaction=True)
def test_the_same_mail_arriving_at_once_by_several_paths_is_taken_once():
    from messaging.inbound import email_receive
    from messaging.models import EmailMessage
    from tests.factories import mailbox, raw_email
    from tickets.models import Message, Ticket

    mailbox("support@shop.example")
    raw = raw_email(message_id="racing@mail.example.com")

    results = _at_once(lambda i: email_receive(raw=raw), 4)

    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert EmailMessage.objects.count() == 1
    number = Ticket.objects.get().number
    assert {(r.status, r.ticket_number) for r in results} == {("received", number)}
    assert sorted(r.duplicate for r in results) == [False, True, True, True]


@pytest.mark.postgres(reason="concurrent writers of one new customer (SQLite serialises)")
@pytest.mark.django_db(transaction=True)
def test_first_mails_at_once_from_one_new_address_make_one_customer():
    from messaging.inbound import email_receive
    from orders.models import Customer
    from tests.factories import mailbox, raw_email
    from tickets.models import Ticket

    mailbox("support@shop.example")
    raws = [raw_email(subject=f"Question {i}") for i in range(4)]

    _at_once(lambda i: email_receive(raw=raws[i]), 4)

    assert Ticket.objects.count() == 4
    assert Customer.objects.count() == 1
