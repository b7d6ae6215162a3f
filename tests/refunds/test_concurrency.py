"""Races on PostgreSQL: real threads, each with its own connection, released at the end.

SQLite serialises writers, so these run only against PostgreSQL (``DATABASE_URL``).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import GatewayPayout, Refund, ReturnRequest
from refunds.rules import ReturnRefused
from refunds.services import (
    refund_create,
    return_request_inspect,
    return_request_receive,
)
from refunds.tasks import refund_payout_task
from tests.concurrency import run_at_once
from tests.factories import api_key_header, storefront_api_key

from .helpers import delivered_order, desk_agent, desk_supervisor, file_request

pytestmark = [
    pytest.mark.postgres(reason="races between threads on row locks; SQLite serialises writers"),
    pytest.mark.django_db(transaction=True),
]


def recent_order(lines=None, **kwargs):
    """Delivered yesterday: the API reads the real clock."""
    return delivered_order(lines, delivered_at=timezone.now() - timedelta(days=1), **kwargs)


def storefront_key() -> str:
    return storefront_api_key()[1]


def test_fifty_identical_posts_with_one_key_file_one_request_and_all_get_the_same_answer():
    order = recent_order()
    key = storefront_key()
    payload = {
        "order_number": order.number,
        "type": "return_refund",
        "reason": "no_reason_7d",
        "lines": [{"sku": "TS-1", "quantity": 1}],
        "description": "Too small",
    }

    def post(_i):
        client = APIClient()
        client.credentials(**api_key_header(key))
        response = client.post(
            "/api/v1/returns/", payload, format="json", HTTP_IDEMPOTENCY_KEY="one-key"
        )
        return response.status_code, response.json()

    results = run_at_once(50, post)
    assert ReturnRequest.objects.count() == 1
    assert {status for status, _ in results} == {201}
    assert len({json.dumps(data, sort_keys=True) for _, data in results}) == 1
    assert results[0][1]["id"] == ReturnRequest.objects.get().public_id


def test_concurrent_requests_for_the_same_units_never_claim_more_than_were_bought():
    order = recent_order([{"sku": "TS-1", "quantity": 3}])
    key = storefront_key()

    def post(_i):
        client = APIClient()
        client.credentials(**api_key_header(key))
        payload = {
            "order_number": order.number,
            "type": "return_refund",
            "reason": "no_reason_7d",
            "lines": [{"sku": "TS-1", "quantity": 1}],
        }
        response = client.post("/api/v1/returns/", payload, format="json")
        return response.status_code, response.json()["code"] if response.status_code != 201 else ""

    results = run_at_once(10, post)
    assert sorted(results) == [(201, "")] * 3 + [(422, "quantity_exceeds_returnable")] * 7
    assert ReturnRequest.objects.count() == 3


def test_twenty_concurrent_refunds_of_different_amounts_never_exceed_what_was_paid():
    # 20 lines of 99.00, a 1000.00 discount: 990.00 paid, far less than the 20 requests ask.
    order = recent_order(
        [{"sku": f"S-{i:02d}", "unit_price": "99.00", "quantity": 1} for i in range(20)],
        discount=Decimal("1000.00"),
    )
    assert order.paid_amount == Decimal("990.00")
    boss = desk_supervisor()
    now = timezone.now()
    requests = []
    for i in range(20):
        request = file_request(order, lines=[(f"S-{i:02d}", 1)], reason="quality", now=now)
        return_request_receive(request=request, by_user=boss, now=now)
        return_request_inspect(request=request, by_user=boss, passed=True, now=now)
        requests.append(request)
    amounts = [Decimal(40 + 3 * i) for i in range(20)]  # 40.00 … 97.00, 1370.00 in all

    def refund(i):
        try:
            refund_create(request=requests[i], amount=amounts[i], by_user=boss)
        except ReturnRefused as refused:
            return refused.code
        return "refunded"

    results = run_at_once(20, refund)
    assert set(results) == {"refunded", "amount_exceeds_refundable"}
    order.refresh_from_db()
    live = Refund.objects.filter(order=order).exclude(status=RefundStatus.FAILED)
    total = sum((r.amount for r in live), Decimal("0"))
    assert total <= order.paid_amount
    assert order.refunded_amount == total
    assert total == sum(amounts[i] for i, r in enumerate(results) if r == "refunded")
    # Every refund was paid out after its commit, once, for its amount.
    for refund in live:
        assert refund.status == RefundStatus.SUCCEEDED
        payout = GatewayPayout.objects.get(idempotency_key=refund.idempotency_key)
        assert payout.amount == refund.amount
    assert GatewayPayout.objects.count() == live.count()


@override_settings(REFUND_GATEWAY_LATENCY_MS=300)
def test_a_payout_task_run_twice_at_once_pays_once():
    boss = desk_supervisor()
    now = timezone.now()
    request = file_request(recent_order(), reason="quality", now=now)
    return_request_receive(request=request, by_user=boss, now=now)
    return_request_inspect(request=request, by_user=boss, passed=True, now=now)
    with mock.patch.object(refund_payout_task, "delay"):  # the two runs below are the task
        refund = refund_create(request=request, amount=Decimal("99.00"), by_user=boss)

    results = run_at_once(2, lambda _i: refund_payout_task.apply(args=[refund.pk]).result)
    assert RefundStatus.SUCCEEDED in results
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.attempts == 1  # the second run found the first one's call in flight
    assert GatewayPayout.objects.filter(idempotency_key=refund.idempotency_key).count() == 1


def test_ten_identical_refund_posts_with_one_key_refund_once():
    agent = desk_agent()
    now = timezone.now()
    request = file_request(recent_order(), reason="quality", now=now)
    return_request_receive(request=request, by_user=agent, now=now)
    return_request_inspect(request=request, by_user=agent, passed=True, now=now)

    def post(_i):
        client = APIClient()
        client.force_login(agent)
        response = client.post(
            f"/api/v1/returns/{request.public_id}/refund/",
            {"amount": "99.00"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="refund-once",
        )
        return response.status_code, response.json()

    results = run_at_once(10, post)
    assert {status for status, _ in results} == {201}
    assert len({json.dumps(data, sort_keys=True) for _, data in results}) == 1
    assert Refund.objects.count() == 1
    request.refresh_from_db()
    assert request.status == ReturnStatus.REFUNDED
    assert GatewayPayout.objects.count() == 1


def test_fifty_clients_returning_units_of_one_order_while_its_tickets_are_solved_never_get_a_500():
    """Issue #16. Each return locks the order, and its ticket's auto-assignment the team's
    agent profiles; the CSAT survey of another ticket of the order, solved meanwhile, checks
    its keys on the agent and on the order when it commits. Only the profiles are locked, the
    order without blocking those checks, and a transaction that still loses a deadlock runs
    again: every client gets its 201 or its 422, never a 500, and no unit or cent is counted
    twice."""
    from surveys.models import SurveyInvitation
    from surveys.sweeper import surveys_sweep
    from tests.factories import TicketFactory, online_agent
    from tickets.choices import TicketStatus
    from tickets.services import ticket_update

    from .helpers import default_team

    team = default_team()
    agents = [online_agent(team) for _ in range(4)]
    order = recent_order([{"sku": "TS-1", "unit_price": "10.00", "quantity": 30}])
    solving = [
        TicketFactory(order=order, customer=order.customer, team=team, assignee=agents[i % 4])
        for i in range(40)
    ]
    key = storefront_key()
    clients = 50
    finished = []

    def post(i):
        client = APIClient(raise_request_exception=False)  # a 500 is an answer to count
        client.credentials(**api_key_header(key))
        # Half return the unit, half keep it and are refunded at once (approved
        # automatically, the refund reserved on the order and paid out after commit).
        kind = ("return_refund", "no_reason_7d") if i % 2 else ("refund_only", "quality")
        payload = {
            "order_number": order.number,
            "type": kind[0],
            "reason": kind[1],
            "lines": [{"sku": "TS-1", "quantity": 1}],
        }
        response = client.post(
            "/api/v1/returns/", payload, format="json", HTTP_IDEMPOTENCY_KEY=f"unit-{i}"
        )
        finished.append(i)
        return response.status_code

    def solve_and_sweep():
        # The desk solves the order's other tickets (each solve schedules its CSAT survey,
        # keyed on the agent and the order) and the survey sweep runs, until the clients are
        # done.
        solved = 0
        for ticket in solving:
            if len(finished) == clients:
                break
            ticket_update(ticket=ticket, by_user=ticket.assignee, status=TicketStatus.SOLVED)
            surveys_sweep()
            solved += 1
        return solved

    results = run_at_once(clients + 1, lambda i: post(i) if i < clients else solve_and_sweep())

    statuses = results[:clients]
    assert set(statuses) <= {201, 422}, sorted(statuses)
    assert statuses.count(201) == 30
    assert ReturnRequest.objects.filter(order=order).count() == 30
    solved = results[clients]
    assert SurveyInvitation.objects.filter(ticket__in=solving).count() == solved > 0
    order.refresh_from_db()
    live = Refund.objects.filter(order=order).exclude(status=RefundStatus.FAILED)
    assert order.refunded_amount == sum((r.amount for r in live), Decimal("0"))
    refund_only = ReturnRequest.objects.filter(order=order, type="refund_only").count()
    assert live.count() == refund_only >= 5  # 30 units, 25 clients return theirs
    assert order.refunded_amount <= order.paid_amount


@pytest.mark.parametrize("idempotency_key", [None, "lost-once"])
def test_a_return_whose_transaction_loses_a_deadlock_is_filed_once_and_answered_201(
    idempotency_key, monkeypatch
):
    """PostgreSQL aborts the victim of a deadlock; its request runs the whole transaction
    again (the keyed request's too, record and all) instead of answering 500."""
    from django.db import connection

    from refunds import services

    order = recent_order()
    lost = []
    ticket_create = services.ticket_create

    def ticket_create_losing_a_deadlock_once(**kwargs):
        if not lost:
            lost.append(kwargs["order"].pk)
            with connection.cursor() as cursor:
                cursor.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' "
                    "USING ERRCODE = 'deadlock_detected'; END $$"
                )
        return ticket_create(**kwargs)

    monkeypatch.setattr(services, "ticket_create", ticket_create_losing_a_deadlock_once)
    client = APIClient(raise_request_exception=False)
    client.credentials(**api_key_header(storefront_key()))
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}

    response = client.post(
        "/api/v1/returns/",
        {
            "order_number": order.number,
            "type": "return_refund",
            "reason": "no_reason_7d",
            "lines": [{"sku": "TS-1", "quantity": 1}],
        },
        format="json",
        **headers,
    )

    assert response.status_code == 201, response.json()
    assert lost == [order.pk]
    assert ReturnRequest.objects.get().public_id == response.json()["id"]
