"""``seed_demo``: return requests on the tickets that ask for one, refunds paid out once."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Sum

from demo import refunds as demo
from orders.models import Order, OrderLine
from refunds.choices import GOODS_BACK, RefundStatus, ReturnStatus
from refunds.models import GatewayPayout, Refund, ReturnEvent, ReturnLine, ReturnRequest
from refunds.transitions import ALLOWED_TRANSITIONS
from tests.seeding import DEMO_NOW, seed_demo_at
from tickets.choices import TicketKind

pytestmark = pytest.mark.django_db

ORDERS = 600
TICKETS = 1_500
NOW = DEMO_NOW
S = ReturnStatus


def seed(orders: int = ORDERS, tickets: int = TICKETS) -> str:
    return seed_demo_at(orders=orders, tickets=tickets)


def row_counts() -> dict[str, int]:
    models = (ReturnRequest, ReturnLine, ReturnEvent, Refund, GatewayPayout)
    return {model.__name__: model.objects.count() for model in models}


def test_a_few_percent_of_delivered_orders_get_a_request_on_the_ticket_that_asked_for_it():
    seed()

    delivered = Order.objects.filter(delivered_at__isnull=False).count()
    requests = ReturnRequest.objects.select_related("ticket", "order")
    assert 0.03 * delivered <= requests.count() <= 0.09 * delivered
    for r in requests:
        assert r.ticket.order_id == r.order_id
        assert r.ticket.kind in (TicketKind.RETURN_REFUND, TicketKind.AFTER_SALES)
        assert r.created_at == r.ticket.first_response_at
        assert r.order.delivered_at < r.created_at
    assert len({r.order_id for r in requests}) == requests.count()
    assert len({r.type for r in requests}) == 3
    assert len({r.status for r in requests}) >= 4


def test_refunds_stay_within_what_was_paid_and_each_paid_refund_was_paid_out_once():
    seed()

    for order in Order.objects.filter(refunds__isnull=False).distinct():
        kept = order.refunds.exclude(status=RefundStatus.FAILED).aggregate(s=Sum("amount"))["s"]
        assert order.refunded_amount == kept <= order.paid_amount
    paid = Refund.objects.filter(status=RefundStatus.SUCCEEDED)
    assert paid.exists()
    payouts = {p.idempotency_key: p for p in GatewayPayout.objects.all()}
    assert len(payouts) == paid.count()
    for refund in paid.select_related("request"):
        payout = payouts[refund.idempotency_key]
        assert (payout.amount, payout.reference) == (refund.amount, refund.provider_reference)
        assert refund.amount <= refund.request.requested_amount
        assert refund.request.status == S.REFUNDED
        assert refund.created_at <= refund.settled_at
    assert Counter(r.request_id for r in Refund.objects.all()).most_common(1)[0][1] == 1


def test_each_timeline_starts_with_the_request_and_moves_only_as_the_lifecycle_allows():
    seed()

    for r in ReturnRequest.objects.prefetch_related("events"):
        events = list(r.events.all())
        assert events[0].type == "requested"
        status = S.REQUESTED
        for e in events:
            if e.type == "status":
                assert e.old_status == status, r.public_id
                assert e.new_status in ALLOWED_TRANSITIONS[status], r.public_id
                status = e.new_status
        assert status == r.status, r.public_id
        moments = [r.created_at, r.decided_at, r.return_shipped_at, r.received_at, r.inspected_at]
        present = [m for m in moments if m is not None]
        assert present == sorted(present), r.public_id
        assert r.updated_at == max(e.at for e in events)
        if r.status == S.REQUESTED:
            assert r.respond_due_at is not None
        if r.status == S.AWAITING_RETURN:
            assert r.return_due_at is not None


def test_goods_received_and_kept_are_counted_on_the_order_lines():
    seed()

    kept = Counter()
    for line in ReturnLine.objects.select_related("request"):
        r = line.request
        if r.type in GOODS_BACK and r.received_at and r.inspection_passed is not False:
            kept[line.order_line_id] += line.quantity
    assert kept
    returned = OrderLine.objects.filter(quantity_returned__gt=0)
    assert dict(returned.values_list("pk", "quantity_returned")) == dict(kept)


def test_running_twice_creates_nothing_new():
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "refunds: created nothing (all present)" in output


def contents() -> dict[int, tuple]:
    return {
        r.ticket_id: (r.public_id, r.type, r.reason, r.status, r.requested_amount, r.updated_at)
        for r in ReturnRequest.objects.all()
    }


def test_the_same_requests_come_back_when_seeded_again():
    seed()
    first = contents()
    GatewayPayout.objects.all().delete()
    Refund.objects.all().delete()
    ReturnRequest.objects.all().delete()

    seed()

    assert contents() == first


def test_without_tickets_no_request_is_written():
    seed(tickets=0)

    assert not ReturnRequest.objects.exists()
    assert demo.RETURN_SHARE < 0.08
