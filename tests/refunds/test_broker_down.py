"""A committed refund is never hidden behind a 500, and its payout is never skipped, when the
Celery broker cannot take the tasks queued after the commit (issue #16, item 6).

Before: an approval on the desk committed the refund, then the after-commit ``delay()`` of the
ticket's solve raised, the desk showed a 500, and the payout queued behind it was never sent
(the stuck-payout sweep paid it ten minutes later).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from csplatform.celery import app
from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import GatewayPayout, Refund
from refunds.tasks import return_ticket_solve_task
from refunds.timers import returns_timers_run
from surveys.models import SurveyInvitation
from tests.redis_server import free_port
from tickets.choices import TicketStatus
from tickets.models import Ticket

from .helpers import delivered_order, desk_agent, file_request

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def broker_unreachable():
    """Tasks go through a broker again (not run in-process), at a port nobody listens on."""
    saved = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    app._pool = app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        app._pool = app.amqp._producer_pool = None


def refund_only_request():
    # A reason that is not approved automatically: the agent's approval makes the refund.
    return file_request(delivered_order(), type="refund_only", reason="size_fit")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain-form"])
def test_an_approval_whose_tasks_cannot_be_queued_answers_and_the_sweep_pays_a_minute_on(
    client, broker_unreachable, caplog, htmx
):
    request = refund_only_request()
    client.force_login(desk_agent(username="li.na"))

    with caplog.at_level(logging.WARNING, logger="csplatform.enqueue"):
        response = client.post(
            f"/desk/returns/{request.public_id}/approve/",
            {"reason": "同意"},
            **(HTMX if htmx else {}),
        )

    assert response.status_code == (200 if htmx else 302)
    request.refresh_from_db()
    assert request.status == ReturnStatus.REFUNDED
    refund = Refund.objects.get(request=request)
    assert refund.status == RefundStatus.PENDING
    assert refund.attempts == 0
    # Every after-commit task was tried, the payout after the ticket's solve had failed. No
    # sweep solves the ticket of an ended return: that task ran in place (and the CSAT
    # survey its solve schedules, likewise).
    failed = [r.getMessage() for r in caplog.records if r.name == "csplatform.enqueue"]
    assert [m.split()[3] for m in failed] == [
        "refunds.tasks.return_ticket_solve_task",
        "surveys.tasks.survey_csat_sync_task",
        "refunds.tasks.refund_payout_task",
    ], failed
    assert all("Connection refused" in message for message in failed)
    assert Ticket.objects.get(pk=request.ticket_id).status == TicketStatus.SOLVED
    assert SurveyInvitation.objects.filter(ticket_id=request.ticket_id).exists()
    # Nothing about the customer or the order in the log lines.
    customer = request.order.customer
    for message in failed:
        assert request.order.number not in message
        assert customer.name not in message

    # The broker is back: the next returns sweep, a minute after the commit, pays it once.
    app.conf.task_always_eager = True
    result = returns_timers_run(now=refund.created_at + timedelta(minutes=1))

    assert result["payouts_requeued"] == 1
    refund.refresh_from_db()
    assert refund.status == RefundStatus.SUCCEEDED
    assert GatewayPayout.objects.filter(idempotency_key=refund.idempotency_key).count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_task_the_broker_refuses_does_not_skip_the_payout_queued_after_it(client, caplog):
    request = refund_only_request()
    client.force_login(desk_agent(username="li.na"))
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with (
        mock.patch.object(return_ticket_solve_task, "delay", side_effect=refused),
        caplog.at_level(logging.WARNING, logger="csplatform.enqueue"),
    ):
        response = client.post(
            f"/desk/returns/{request.public_id}/approve/", {"reason": "同意"}, **HTMX
        )

    assert response.status_code == 200
    assert 'id="return-status">Refunded<' in response.content.decode()
    refund = Refund.objects.get(request=request)
    assert refund.status == RefundStatus.SUCCEEDED  # its task ran (in-process here)
    assert GatewayPayout.objects.filter(idempotency_key=refund.idempotency_key).count() == 1
    [warning] = [r.getMessage() for r in caplog.records if r.name == "csplatform.enqueue"]
    assert "return_ticket_solve_task" in warning
