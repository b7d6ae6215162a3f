"""The ticket of a return request is solved when the request ends, and only then."""

from decimal import Decimal

import pytest

from refunds.services import (
    refund_create,
    return_request_cancel,
    return_request_inspect,
    return_request_receive,
    return_request_reject,
)
from tickets.services import ticket_update

from .helpers import DAY, DELIVERED, STOREFRONT, delivered_order, desk_supervisor, file_request

pytestmark = pytest.mark.django_db


def ticket_of(request):
    request.refresh_from_db()
    request.ticket.refresh_from_db()
    return request.ticket


def test_a_refunded_return_solves_its_ticket_with_a_note_after_commit(
    django_capture_on_commit_callbacks,
):
    boss = desk_supervisor()
    request = file_request(delivered_order(), lines=[("TS-1", 2)], reason="quality")
    return_request_receive(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    return_request_inspect(request=request, by_user=boss, passed=True, now=DELIVERED + 2 * DAY)
    assert ticket_of(request).status != "solved"

    with django_capture_on_commit_callbacks(execute=True):
        refund_create(
            request=request, amount=Decimal("198.00"), by_user=boss, now=DELIVERED + 3 * DAY
        )

    ticket = ticket_of(request)
    assert ticket.status == "solved"
    note = ticket.messages.get(author_kind="system", internal=True)
    assert request.public_id in note.body
    assert "Refunded" in note.body
    assert ticket.events.filter(type="status", new_value="solved", actor_kind="system").exists()


def test_a_cancelled_return_solves_its_ticket(django_capture_on_commit_callbacks):
    request = file_request(delivered_order(), reason="quality", amount=Decimal("99.00"))
    with django_capture_on_commit_callbacks(execute=True):
        return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + 2 * DAY)
    assert ticket_of(request).status == "solved"


def test_a_rejected_return_leaves_its_ticket_open_for_the_appeal(
    django_capture_on_commit_callbacks,
):
    boss = desk_supervisor()
    request = file_request(delivered_order(), reason="size_fit", amount=Decimal("99.00"))
    with django_capture_on_commit_callbacks(execute=True):
        return_request_reject(
            request=request, by_user=boss, reason="照片看不出问题", now=DELIVERED + 2 * DAY
        )
    assert ticket_of(request).status not in ("solved", "closed")


def test_a_ticket_the_agents_closed_already_is_left_alone(django_capture_on_commit_callbacks):
    boss = desk_supervisor()
    request = file_request(delivered_order(), reason="quality", amount=Decimal("99.00"))
    ticket = ticket_of(request)
    ticket_update(ticket=ticket, by_user=boss, status="solved", now=DELIVERED + DAY)
    ticket_update(ticket=ticket_of(request), by_user=boss, status="closed", now=DELIVERED + DAY)

    with django_capture_on_commit_callbacks(execute=True):
        return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + 2 * DAY)

    ticket = ticket_of(request)
    assert ticket.status == "closed"
    assert not ticket.messages.filter(author_kind="system").exists()
