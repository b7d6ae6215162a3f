"""The return panel on the desk's ticket page, its actions and the supervisor approval queue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import Refund, ReturnEvidence, ReturnRequest
from tests.factories import CustomerFactory, TeamFactory, TicketFactory
from tests.refunds.helpers import (
    delivered_order,
    desk_agent,
    desk_supervisor,
    file_request,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
BIG = [{"sku": "TV-1", "name": "电视机", "unit_price": Decimal("1500.00"), "quantity": 1}]


@pytest.fixture
def agent():
    return desk_agent(username="li.na", first_name="娜", last_name="李")


def page(client, request) -> str:
    response = client.get(f"/desk/tickets/{request.ticket.number}/")
    assert response.status_code == 200
    return response.content.decode()


def panel(response) -> str:
    html = response.content.decode()
    return html.split('id="return-panel"', 1)[1].split("</section>", 1)[0]


def post(client, request, action: str, data=None):
    return client.post(f"/desk/returns/{request.public_id}/{action}/", data or {}, **HTMX)


def test_the_panel_shows_lines_amounts_rule_checks_and_the_allowed_actions(agent_client):
    order = delivered_order()
    request = file_request(order, reason="size_fit", description="偏小")
    ReturnEvidence.objects.create(
        request=request,
        file="returns/2026/03/fit.jpg",
        name="尺码照片.jpg",
        content_type="image/jpeg",
        size=2048,
        uploaded_at=timezone.now(),
    )

    html = page(agent_client, request)

    part = html.split('id="return-panel"', 1)[1].split("</section>", 1)[0]
    assert request.public_id in part
    assert 'id="return-status">Requested<' in part
    assert "Return and refund" in part
    assert "Size or fit" in part
    assert "TS-1" in part
    assert "1 / 2" in part
    assert "99.00" in part
    # Delivered 2 March 15:00 Shanghai: a 7-day window ends at midnight after the 9th.
    assert "2026-03-02 15:00" in part
    assert "No-reason window ends 2026-03-10 00:00" in part
    assert "Warranty ends 2026-04-02 00:00" in part
    # Bought 2, this request holds 1: one unit is still returnable; 208.00 paid, none refunded.
    assert '<td class="num">1</td></tr>' in part
    assert 'id="order-refundable">208.00 CNY' in part
    assert "尺码照片.jpg" in part
    assert "image/jpeg" in part
    assert 'id="return-approve"' in part
    assert 'id="return-reject"' in part
    assert 'id="return-receive"' not in part
    assert 'id="return-refund"' not in part


def test_approve_receive_inspect_and_refund_in_part_then_the_rest(agent_client, agent):
    request = file_request(delivered_order(), reason="size_fit")

    response = post(agent_client, request, "approve", {"reason": "同意"})
    assert response.status_code == 200
    assert 'id="return-status">Awaiting the goods<' in panel(response)
    assert 'id="return-receive"' in panel(response)

    response = post(agent_client, request, "receive")
    assert 'id="return-status">Goods received<' in panel(response)

    response = post(agent_client, request, "inspect", {"passed": "yes", "notes": "完好"})
    assert 'id="return-status">Inspected<' in panel(response)
    assert 'value="99.00"' in panel(response)

    response = post(agent_client, request, "refund", {"amount": "40.00"})
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == ReturnStatus.REFUNDED
    # Payouts run after commit; the test transaction never commits, so it is pending here.
    assert 'id="return-refunded">40.00 CNY' in panel(response)
    assert 'value="59.00"' in panel(response), "the rest can still be refunded"

    response = post(agent_client, request, "refund", {"amount": "60.00"})
    assert response.status_code == 422
    assert "Only 59.00 of this request" in panel(response)
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("40.00")]


def test_reject_needs_a_reason_and_shows_the_decision(agent_client, agent):
    request = file_request(delivered_order(), reason="size_fit")

    response = post(agent_client, request, "reject", {"reason": ""})
    assert response.status_code == 422
    assert "Say why the request is rejected." in panel(response)

    response = post(agent_client, request, "reject", {"reason": "已超过七天"})
    assert 'id="return-status">Rejected<' in panel(response)
    assert "已超过七天" in panel(response)
    assert "李娜" in panel(response)


def test_a_failed_inspection_rejects_and_an_exchange_is_sent(agent_client):
    request = file_request(delivered_order(), reason="size_fit")
    post(agent_client, request, "approve")
    post(agent_client, request, "receive")
    response = post(agent_client, request, "inspect", {"passed": "no", "notes": "已穿过"})
    assert 'id="return-status">Rejected<' in panel(response)

    exchange = file_request(delivered_order(), type="exchange", reason="size_fit")
    post(agent_client, exchange, "approve")
    post(agent_client, exchange, "receive")
    response = post(agent_client, exchange, "inspect", {"passed": "yes"})
    assert 'id="return-exchange"' in panel(response)
    assert 'id="return-refund"' not in panel(response)
    response = post(agent_client, exchange, "exchange")
    assert 'id="return-status">Exchanged<' in panel(response)


def test_a_refused_action_shows_its_detail_inline(agent_client):
    request = file_request(delivered_order(), reason="size_fit")
    response = post(agent_client, request, "receive")
    assert response.status_code == 409
    assert 'id="return-error"' in panel(response)
    assert "cannot move to &#x27;received&#x27;" in panel(response)


def test_without_javascript_an_action_redirects_back_to_the_ticket(agent_client):
    request = file_request(delivered_order(), reason="size_fit")
    response = agent_client.post(f"/desk/returns/{request.public_id}/approve/")
    assert response.status_code == 302
    assert response.url == f"/desk/tickets/{request.ticket.number}/"


def test_another_teams_return_is_404_and_stays_untouched(agent_client):
    request = file_request(delivered_order(), reason="size_fit")
    Ticket.objects.filter(pk=request.ticket_id).update(team=TeamFactory())

    for action in ("approve", "reject", "receive", "inspect", "exchange", "refund"):
        assert post(agent_client, request, action, {"reason": "x"}).status_code == 404
    assert agent_client.get(f"/desk/tickets/{request.ticket.number}/").status_code == 404
    assert post(agent_client, ReturnRequest(public_id="RNOSUCH"), "approve").status_code == 404
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED


def test_an_agents_large_approval_goes_to_the_supervisor_queue(client, agent_client, agent):
    request = file_request(delivered_order(BIG, number="SO-9000001"), lines=[("TV-1", 1)])
    assert request.status == ReturnStatus.REQUESTED

    response = post(agent_client, request, "approve")

    assert response.status_code == 403
    assert "Sent to the supervisor approval queue" in panel(response)
    assert "Waiting for a supervisor" in panel(response)
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED
    assert request.proposed_by == agent
    assert agent_client.get("/desk/returns/approvals/").status_code == 403

    supervisor = desk_supervisor(username="zhao.lei")
    client.force_login(supervisor)
    queue = client.get("/desk/returns/approvals/").content.decode()
    proposals = queue.split('id="approval-proposals"', 1)[1].split("</section>", 1)[0]
    assert request.public_id in proposals
    assert "1500.00" in proposals
    assert "李娜" in proposals
    assert 'id="nav-return-approvals"' in queue

    response = post(client, request, "approve", {"reason": "核实无误"})
    assert response.status_code == 200
    assert 'id="return-status">Awaiting the goods<' in panel(response)
    assert request.public_id not in client.get("/desk/returns/approvals/").content.decode()


def test_a_failed_payout_is_listed_for_the_supervisor(client):
    request = file_request(delivered_order(), reason="quality", type="refund_only")
    refund = Refund.objects.get(request=request)
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED, needs_attention=True)
    client.force_login(desk_supervisor())
    queue = client.get("/desk/returns/approvals/").content.decode()
    payouts = queue.split('id="approval-payouts"', 1)[1].split("</section>", 1)[0]
    assert request.public_id in payouts


def test_a_supervisor_retries_a_failed_payout_from_the_panel_and_an_agent_cannot(
    client, agent_client, django_capture_on_commit_callbacks
):
    request = file_request(delivered_order(), reason="quality", type="refund_only")
    refund = Refund.objects.get(request=request)
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.FAILED, needs_attention=True)
    from orders.models import Order

    Order.objects.filter(pk=request.order_id).update(refunded_amount=0)  # released on failure
    assert "refund-retry" not in panel(agent_client.get(f"/desk/tickets/{request.ticket.number}/"))
    refused = post(agent_client, request, f"refunds/{refund.pk}/retry")
    assert refused.status_code == 403
    assert not Refund.objects.filter(retry_of=refund).exists()

    client.force_login(desk_supervisor())
    assert "refund-retry" in page(client, request)
    with django_capture_on_commit_callbacks(execute=True):
        retried = post(client, request, f"refunds/{refund.pk}/retry")

    assert retried.status_code == 200
    retry = Refund.objects.get(retry_of=refund)
    assert (retry.amount, retry.status) == (refund.amount, RefundStatus.SUCCEEDED)
    assert "refund-retry" not in panel(retried)


def test_an_agent_starts_a_return_on_a_ticket_with_an_order(agent_client, agent):
    order = delivered_order(delivered_at=timezone.now() - timedelta(days=1))
    ticket = TicketFactory(
        team=agent.teams.get(), customer=order.customer, order=order, subject="尺码不合适"
    )
    html = agent_client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="start-return"' in html
    line = order.lines.get()

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/return/",
        {"type": "return_refund", "reason": "size_fit", f"qty-{line.pk}": "3"},
        **HTMX,
    )
    assert response.status_code == 422
    assert "2 can still be returned" in panel(response)

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/return/",
        {"type": "return_refund", "reason": "size_fit", f"qty-{line.pk}": "1"},
        **HTMX,
    )
    assert response.status_code == 200
    request = ReturnRequest.objects.get()
    assert request.ticket == ticket
    assert request.requested_amount == Decimal("99.00")
    assert 'id="return-status">Requested<' in panel(response)
    assert (
        'id="start-return"'
        not in agent_client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    )


def test_a_ticket_without_an_order_has_no_return_panel(agent_client, agent):
    ticket = TicketFactory(team=agent.teams.get(), customer=CustomerFactory())
    html = agent_client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="return-panel"' not in html


# Ticket page with a return: the ticket page's queries (tests/tickets/test_desk_views.py, where
# the public messages went among them), then the return with its order and deciders, its lines,
# refunds and evidence; the rules, the category rules and the units the order's requests hold.
RETURN_PAGE_QUERIES = 27


@pytest.mark.parametrize("size", [1, 3])
def test_the_ticket_page_with_a_return_uses_a_fixed_number_of_queries(
    agent_client, agent, size, django_assert_num_queries
):
    lines = [{"sku": f"S-{i}", "unit_price": Decimal("10.00"), "quantity": 2} for i in range(size)]
    request = file_request(
        delivered_order(lines), lines=[(f"S-{i}", 1) for i in range(size)], reason="quality"
    )
    assert request.refunds.exists() or request.status == ReturnStatus.AWAITING_RETURN
    Ticket.objects.filter(pk=request.ticket_id).update(assignee=agent)

    with django_assert_num_queries(RETURN_PAGE_QUERIES):
        response = agent_client.get(f"/desk/tickets/{request.ticket.number}/")

    assert panel(response).count('<td class="mono">S-') == size


def test_the_panel_reads_in_chinese(agent_client):
    request = file_request(delivered_order(), reason="size_fit")
    agent_client.cookies["django_language"] = "zh-hans"
    # The middleware activates the language in the test's thread: restore it afterwards.
    with translation.override(translation.get_language()):
        html = page(agent_client, request)
    assert "规则检查" in html
    assert "无理由退货截止" in html
    assert ">同意<" in html
