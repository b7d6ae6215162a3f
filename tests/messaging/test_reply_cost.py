"""What the outbox adds to an agent's public reply: one statement, with or without an endpoint
(issue #18: at most one extra query), counted against the same reply with the messaging
receiver disconnected."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging.choices import WebhookEventType
from messaging.models import OutboxEvent, WebhookDelivery
from messaging.receivers import outbox_on_ticket_event
from tests.factories import CustomerFactory, agent_user, webhook_endpoint
from tests.messaging.helpers import ticket_filed
from tickets.services import ticket_reply
from tickets.signals import ticket_event_recorded

pytestmark = pytest.mark.django_db

UID = "messaging.outbox_on_ticket_event"


@pytest.fixture
def replying():
    """An agent and an open ticket already answered once: the next replies change nothing but
    the conversation, so that each costs the same."""
    agent = agent_user()
    ticket = ticket_filed(CustomerFactory())
    ticket_reply(ticket=ticket, user=agent, body="We are looking into it.")

    def reply(body: str = "包裹明天送达。"):
        return ticket_reply(ticket=ticket, user=agent, body=body)

    return reply


@pytest.fixture
def bare_reply_queries(replying):
    """The queries of a reply with no outbox at all (the receiver disconnected)."""
    assert ticket_event_recorded.disconnect(dispatch_uid=UID)
    try:
        with CaptureQueriesContext(connection) as captured:
            replying()
    finally:
        ticket_event_recorded.connect(outbox_on_ticket_event, dispatch_uid=UID)
    return len(captured)


def test_a_reply_without_any_endpoint_costs_one_statement_that_writes_nothing(
    replying, bare_reply_queries, django_assert_num_queries
):
    webhook_endpoint("http://127.0.0.1:9/orders", events=[WebhookEventType.ORDER_EXCEPTION_OPENED])
    with django_assert_num_queries(bare_reply_queries + 1):
        replying()
    assert not OutboxEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


@pytest.mark.postgres(reason="one INSERT with data-modifying WITH clauses (not in SQLite)")
def test_a_reply_with_a_subscribed_endpoint_costs_one_statement_on_postgresql(
    replying, bare_reply_queries, django_assert_num_queries
):
    endpoint, _ = webhook_endpoint(
        "http://127.0.0.1:9/hooks", events=[WebhookEventType.TICKET_MESSAGE_CREATED]
    )
    with django_assert_num_queries(bare_reply_queries + 1):
        message = replying("Solved it for you.")
    event = OutboxEvent.objects.get()
    assert event.payload["data"]["message"]["body"] == message.body
    assert event.storefront_id == endpoint.storefront_id
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event_id, delivery.endpoint_id) == (event.id, endpoint.pk)
    assert delivery.ordering_key == event.ordering_key == f"ticket:{message.ticket_id}"


def test_two_endpoints_cost_the_same_one_statement_or_two_on_sqlite(
    replying, bare_reply_queries, django_assert_num_queries
):
    """SQLite has no data-modifying WITH: the deliveries' INSERT … SELECT, then the event's."""
    webhook_endpoint("http://127.0.0.1:9/a", events=[WebhookEventType.TICKET_MESSAGE_CREATED])
    webhook_endpoint("http://127.0.0.1:9/b", events=[WebhookEventType.TICKET_MESSAGE_CREATED])
    extra = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(bare_reply_queries + extra):
        replying()
    event = OutboxEvent.objects.get()
    assert sorted(d.event_id for d in WebhookDelivery.objects.all()) == [event.id, event.id]
