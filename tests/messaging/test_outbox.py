"""Events are written to the outbox in the transaction of the change they report."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.models import OutboxEvent, WebhookDelivery
from orders.services import order_exception_raise
from refunds.payouts import refund_payout
from refunds.services import (
    refund_create,
    return_request_inspect,
    return_request_receive,
)
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    StorefrontFactory,
    admin_user,
    agent_user,
    default_storefront,
    supervisor_user,
    webhook_endpoint,
)
from tests.messaging.helpers import SHOP, ticket_filed
from tests.refunds.helpers import delivered_order, file_request
from tickets.models import Ticket
from tickets.services import ticket_customer_message, ticket_reply, ticket_update

pytestmark = pytest.mark.django_db


def types() -> list[str]:
    return list(OutboxEvent.objects.order_by("created_at", "ordering_key").values_list("type"))


def test_a_new_ticket_writes_a_ticket_created_event_with_its_first_message():
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    ticket = ticket_filed(CustomerFactory())
    event = OutboxEvent.objects.get()
    assert event.type == WebhookEventType.TICKET_CREATED
    assert event.ordering_key == f"ticket:{ticket.pk}"
    assert event.payload["data"]["ticket"]["number"] == ticket.number
    assert event.payload["data"]["message"]["body"] == "Still not here."
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint, delivery.status) == (endpoint, DeliveryStatus.PENDING)


def test_public_messages_are_events_and_internal_notes_never_are():
    webhook_endpoint("http://127.0.0.1:9/hooks", events=[WebhookEventType.TICKET_MESSAGE_CREATED])
    ticket = ticket_filed(CustomerFactory())
    agent = agent_user()
    ticket_reply(ticket=ticket, user=agent, body="Secret: the courier lost it", internal=True)
    ticket_reply(ticket=ticket, user=agent, body="We are on it.")
    ticket_customer_message(ticket=ticket, body="Thanks", actor=SHOP)
    bodies = [e.payload["data"]["message"]["body"] for e in OutboxEvent.objects.all()]
    assert sorted(bodies) == ["Thanks", "We are on it."]
    assert "courier" not in str(list(OutboxEvent.objects.values_list("payload", flat=True)))


def test_status_changes_are_events_with_the_old_and_new_status():
    webhook_endpoint("http://127.0.0.1:9/hooks", events=[WebhookEventType.TICKET_STATUS_CHANGED])
    ticket = ticket_filed(CustomerFactory())
    ticket_reply(ticket=ticket, user=agent_user(), body="Solved?", then_status="solved")
    data = [e.payload["data"] for e in OutboxEvent.objects.all()]
    assert [(d["old_status"], d["new_status"]) for d in data] == [("new", "solved")]
    assert data[0]["ticket"]["status"] == "solved"


def test_an_opened_order_exception_is_an_event_of_the_orders_storefront():
    webhook_endpoint("http://127.0.0.1:9/hooks", events=[WebhookEventType.ORDER_EXCEPTION_OPENED])
    order = OrderFactory()
    order_exception_raise(order=order, type="address_problem", now=order.placed_at)
    event = OutboxEvent.objects.get()
    assert event.type == WebhookEventType.ORDER_EXCEPTION_OPENED
    assert event.payload["data"]["order_number"] == order.number
    assert event.payload["data"]["type"] == "address_problem"


def test_no_rows_for_a_storefront_without_an_active_endpoint_subscribed_to_the_type():
    other_shop = StorefrontFactory()
    webhook_endpoint("http://127.0.0.1:9/a", storefront=other_shop)
    webhook_endpoint("http://127.0.0.1:9/b", events=[WebhookEventType.ORDER_EXCEPTION_OPENED])
    webhook_endpoint("http://127.0.0.1:9/c", active=False)
    ticket_filed(CustomerFactory())
    assert not OutboxEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_each_subscribed_endpoint_gets_its_own_delivery_of_one_event():
    webhook_endpoint("http://127.0.0.1:9/a")
    webhook_endpoint("http://127.0.0.1:9/b")
    ticket_filed(CustomerFactory())
    assert OutboxEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_outbox_row_and_the_change_commit_or_roll_back_together(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    customer = CustomerFactory()
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        ticket_filed(customer, subject="Rolled back")
        raise RuntimeError("the request failed after the ticket was written")
    assert not Ticket.objects.exists()
    assert not OutboxEvent.objects.exists()
    assert receiver.received == []

    with transaction.atomic():
        ticket = ticket_filed(customer, subject="Committed")
        assert receiver.received == []  # nothing leaves before the commit
    # Woken after the commit (the tests run tasks in-process): delivered at once.
    assert OutboxEvent.objects.get().payload["data"]["ticket"]["number"] == ticket.number
    assert [r.document["data"]["ticket"]["subject"] for r in receiver.received] == ["Committed"]


@pytest.mark.django_db(transaction=True)
def test_a_broker_failure_after_commit_neither_breaks_the_change_nor_loses_the_event(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    with mock.patch(
        "messaging.tasks.webhook_deliveries_send_task.delay", side_effect=ConnectionError
    ):
        ticket_filed(CustomerFactory())
    assert receiver.received == []
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING
    # The periodic sweep (the same task, run by beat) sends it.
    from messaging.tasks import webhook_deliveries_send_task

    webhook_deliveries_send_task()
    assert receiver.types() == ["ticket.created"]


def test_a_status_change_by_a_supervisor_is_an_event_too():
    webhook_endpoint("http://127.0.0.1:9/hooks", events=[WebhookEventType.TICKET_STATUS_CHANGED])
    ticket = ticket_filed(CustomerFactory())
    ticket_update(ticket=ticket, by_user=admin_user(), status="open")
    assert types() == [(WebhookEventType.TICKET_STATUS_CHANGED,)]


def test_a_settled_refund_is_an_event_of_its_orders_storefront():
    webhook_endpoint("http://127.0.0.1:9/hooks", events=[WebhookEventType.REFUND_SETTLED])
    boss = supervisor_user()
    request = file_request(delivered_order(), lines=[("TS-1", 2)], reason="quality")
    return_request_receive(request=request, by_user=boss)
    return_request_inspect(request=request, by_user=boss, passed=True)
    refund = refund_create(request=request, amount=Decimal("99.00"), by_user=boss)
    assert not OutboxEvent.objects.exists()  # created, not settled

    refund_payout(refund_id=refund.pk)

    event = OutboxEvent.objects.get()
    assert event.type == WebhookEventType.REFUND_SETTLED
    data = event.payload["data"]
    assert (data["return_id"], data["amount"], data["status"]) == (
        request.public_id,
        "99.00",
        "succeeded",
    )
    assert data["order_number"] == request.order.number
    assert "provider_reference" not in data


def test_the_recorded_event_is_returned_as_stored_and_nothing_without_an_endpoint():
    from django.utils import timezone

    from messaging.services import outbox_event_record

    other_shop = StorefrontFactory()
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks", storefront=other_shop)
    now = timezone.now()
    with transaction.atomic():
        written = outbox_event_record(
            type=WebhookEventType.TICKET_CREATED,
            data={"ticket": {"number": "T-1"}},
            now=now,
            ordering_key="ticket:1",
            storefront_id=other_shop.pk,
        )
        nothing = outbox_event_record(
            type=WebhookEventType.TICKET_CREATED,
            data={"ticket": {"number": "T-2"}},
            now=now,
            storefront_id=other_shop.pk + 1,
        )
    assert nothing is None
    stored = OutboxEvent.objects.get()
    assert (written.pk, written.storefront_id, written.type, written.ordering_key) == (
        stored.pk,
        stored.storefront_id,
        stored.type,
        stored.ordering_key,
    )
    assert (written.payload, written.created_at) == (stored.payload, stored.created_at)
    assert WebhookDelivery.objects.get().endpoint == endpoint


@pytest.mark.django_db(transaction=True)
def test_an_event_recorded_outside_a_transaction_is_written_whole_in_one_of_its_own():
    from django.utils import timezone

    from messaging.services import outbox_event_record

    webhook_endpoint("http://127.0.0.1:9/hooks")
    written = outbox_event_record(
        type=WebhookEventType.TICKET_CREATED,
        data={"ticket": {"number": "T-1"}},
        now=timezone.now(),
        storefront_id=default_storefront().pk,
    )
    assert OutboxEvent.objects.get().pk == written.pk
    assert WebhookDelivery.objects.get().event_id == written.pk
