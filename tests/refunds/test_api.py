"""The returns endpoints of api.md: the storefront files and follows, the desk decides.

The storefront sees status, decision and reasons, refunds and a timeline without desk names or
provider internals; agents see returns whose ticket is in their teams (others: 404).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import GatewayPayout, Refund, ReturnRequest
from refunds.services import return_request_approve, return_request_reject
from tests.factories import TeamFactory, admin_user, agent_user

from .helpers import (
    DAY,
    DELIVERED,
    delivered_order,
    desk_agent,
    desk_supervisor,
    file_request,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = DELIVERED + 2 * DAY


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def url(request=None, action: str = "") -> str:
    if request is None:
        return "/api/v1/returns/"
    public_id = request if isinstance(request, str) else request.public_id
    return f"/api/v1/returns/{public_id}/" + (f"{action}/" if action else "")


def body(order, **overrides) -> dict:
    return {
        "order_number": order.number,
        "type": "return_refund",
        "reason": "no_reason_7d",
        "lines": [{"sku": "TS-1", "quantity": 1}],
        "description": "Too small",
        **overrides,
    }


def waiting(order=None, **kwargs):
    request = file_request(order or delivered_order(), reason="size_fit", now=NOW, **kwargs)
    assert request.status == ReturnStatus.REQUESTED
    return request


def expensive_order():
    return delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])


# --- Filing a request ---------------------------------------------------------------------------


def test_the_storefront_files_a_return_and_gets_its_id_status_ticket_and_amount(storefront):
    order = delivered_order()
    response = storefront.post(url(), body(order), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    request = ReturnRequest.objects.get()
    assert data["id"] == request.public_id
    assert data["id"].startswith("R")
    assert data["status"] == "awaiting_return"  # small and no-reason: approved at once
    assert data["ticket_number"] == request.ticket.number
    assert data["refund_amount"] == "99.00"
    assert data["currency"] == "CNY"
    assert data["lines"] == [
        {"sku": "TS-1", "name": "Item 1", "quantity": 1, "unit_price": "99.00"}
    ]
    assert data["decision"]["outcome"] == "approved"
    assert data["decision"]["by"] == "system"
    assert data["staff"] is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"lines": [{"sku": "TS-1", "quantity": 3}]}, "quantity_exceeds_returnable"),
        ({"amount": "150.00"}, "amount_exceeds_items"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "unknown_sku"),
        ({"type": "refund_only"}, "refund_only_needs_reason"),
    ],
)
def test_a_request_the_rules_refuse_is_422_naming_the_rule(storefront, overrides, code):
    response = storefront.post(url(), body(delivered_order(), **overrides), format="json")
    assert response.status_code == 422
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert not ReturnRequest.objects.exists()


def test_a_request_outside_the_window_is_422(storefront, clock):
    order = delivered_order()
    clock.move_to(DELIVERED + 8 * DAY)
    response = storefront.post(url(), body(order), format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "outside_return_window"
    assert response.json()["window_ended_at"]


def test_a_request_for_more_than_is_still_refundable_is_422(storefront):
    order = delivered_order(
        [{"sku": "TS-1", "unit_price": "300.00", "quantity": 2}], discount=Decimal("110.00")
    )
    first = file_request(order, type="refund_only", reason="quality", now=NOW)
    return_request_approve(request=first, by_user=desk_supervisor(), now=NOW)
    response = storefront.post(url(), body(order, reason="quality", amount="200.01"), format="json")
    assert response.status_code == 422
    assert response.json() | {"detail": ""} == {
        "code": "amount_exceeds_refundable",
        "detail": "",
        "refundable": "200.00",
    }


def test_an_unknown_order_is_404(storefront):
    response = storefront.post(url(), body(delivered_order(), order_number="SO-0"), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "bad",
    [
        {"order_number": None},
        {"type": "refund"},
        {"reason": "bored"},
        {"lines": []},
        {"lines": [{"sku": "TS-1", "quantity": 0}]},
        {"lines": [{"sku": "TS-1", "quantity": "two"}]},
        {"lines": [{"sku": "TS-1", "quantity": 1}, {"sku": "TS-1", "quantity": 1}]},
        {"lines": "TS-1"},
        {"amount": "12.345"},
        {"amount": "-1"},
        {"amount": "NaN"},
        {"amount": "1e400"},
        {"order_number": "SO-\x00"},
        {"order_number": "S" * 41},
        {"description": "x" * 5001},
    ],
)
def test_invalid_input_is_400_field_by_field_never_500(storefront, bad):
    response = storefront.post(url(), body(delivered_order(), **bad), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) <= set(bad) | {"non_field_errors"}


@pytest.mark.parametrize("raw", [b"[]", b"null", b"{", b'"text"'])
def test_a_body_that_is_not_an_object_is_400(storefront, raw):
    response = storefront.post(url(), raw, content_type="application/json")
    assert response.status_code == 400


# --- Idempotency-Key -----------------------------------------------------------------------------


def test_the_same_key_and_body_returns_the_first_response_and_files_once(storefront):
    order = delivered_order()
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-1-return-1"}
    first = storefront.post(url(), body(order), format="json", **headers)
    again = storefront.post(url(), body(order), format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replay"] == "true"
    assert ReturnRequest.objects.count() == 1


def test_the_same_key_with_another_body_is_422(storefront):
    order = delivered_order()
    headers = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    storefront.post(url(), body(order), format="json", **headers)
    other = storefront.post(url(), body(order, description="Other"), format="json", **headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert ReturnRequest.objects.count() == 1


def test_without_a_key_every_post_is_a_new_request(storefront):
    order = delivered_order()
    storefront.post(url(), body(order), format="json")
    storefront.post(url(), body(order), format="json")
    assert ReturnRequest.objects.count() == 2


def test_a_refused_request_with_a_key_is_refused_the_same_way_again(storefront):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k2"}
    order = delivered_order()
    bad = body(order, lines=[{"sku": "TS-1", "quantity": 3}])
    first = storefront.post(url(), bad, format="json", **headers)
    again = storefront.post(url(), bad, format="json", **headers)
    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()


# --- Following a request: status, decision, refunds, timeline ----------------------------------


def test_the_customer_sees_the_decision_and_its_reason_but_no_desk_names(storefront):
    request = waiting()
    boss = desk_supervisor(username="boss.wang")
    return_request_reject(request=request, by_user=boss, reason="Worn and washed", now=NOW)
    data = storefront.get(url(request)).json()
    assert data["status"] == "rejected"
    assert data["decision"] == {
        "outcome": "rejected",
        "by": "merchant",
        "reason": "Worn and washed",
        "decided_at": NOW.isoformat(),
    }
    assert data["appeal_until"] == (NOW + 5 * DAY).isoformat()
    assert [(e["type"], e["new_status"], e["reason"]) for e in data["timeline"]] == [
        ("requested", "requested", ""),
        ("status", "rejected", "Worn and washed"),
    ]
    assert "boss.wang" not in str(data)
    assert data["staff"] is None


def test_the_customer_sees_refunds_without_provider_internals(
    storefront, django_capture_on_commit_callbacks
):
    order = delivered_order()
    with django_capture_on_commit_callbacks(execute=True):
        request = file_request(order, type="refund_only", reason="quality", now=NOW)
    data = storefront.get(url(request)).json()
    assert data["refunds"] == [
        {
            "amount": "99.00",
            "currency": "CNY",
            "status": "succeeded",
            "created_at": NOW.isoformat(),
            "settled_at": data["refunds"][0]["settled_at"],
        }
    ]
    assert data["refunded_amount"] == "99.00"
    reference = Refund.objects.get().provider_reference
    assert reference
    assert reference not in str(data)
    assert [e["type"] for e in data["timeline"]][-1] == "refund_paid"


def test_internal_steps_stay_off_the_customers_timeline(storefront):
    request = waiting(expensive_order(), lines=[("TV", 1)])
    session_client(desk_agent()).post(url(request, "approve"), {}, format="json")  # a proposal
    data = storefront.get(url(request)).json()
    assert [e["type"] for e in data["timeline"]] == ["requested"]


# --- Storefront actions -------------------------------------------------------------------------


def test_the_customer_cancels_a_waiting_request_and_not_twice(storefront):
    request = waiting()
    response = storefront.post(url(request, "cancel"), format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = storefront.post(url(request, "cancel"), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_the_customer_reports_the_parcel_sent_back_and_then_cannot_cancel(storefront):
    request = file_request(delivered_order(), now=NOW)
    response = storefront.post(
        url(request, "shipment"), {"carrier": "SF", "tracking_number": "SF123"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["return_shipment"] == {
        "carrier": "SF",
        "tracking_number": "SF123",
        "shipped_at": NOW.isoformat(),
    }
    cancel = storefront.post(url(request, "cancel"), format="json")
    assert cancel.status_code == 409
    assert cancel.json()["code"] == "goods_in_transit"


def test_a_shipment_needs_carrier_and_tracking_number_and_a_return_waiting_for_it(storefront):
    request = file_request(delivered_order(), now=NOW)
    missing = storefront.post(url(request, "shipment"), {"carrier": "SF"}, format="json")
    assert missing.status_code == 400
    assert "tracking_number" in missing.json()["errors"]
    waiting_request = waiting()
    early = storefront.post(
        url(waiting_request, "shipment"), {"carrier": "SF", "tracking_number": "1"}, format="json"
    )
    assert early.status_code == 409


def test_the_customer_appeals_a_rejection_within_five_days_not_after(storefront, clock):
    request = waiting()
    return_request_reject(request=request, by_user=desk_supervisor(), reason="Worn", now=NOW)
    clock.move_to(NOW + 5 * DAY + timedelta(seconds=1))
    late = storefront.post(url(request, "appeal"), {"description": "Look"}, format="json")
    assert late.status_code == 422
    assert late.json()["code"] == "appeal_window_closed"
    clock.move_to(NOW + 4 * DAY)
    response = storefront.post(url(request, "appeal"), {"description": "Look"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "requested"
    assert response.json()["appeals"] == 1
    empty = storefront.post(url(request, "appeal"), {}, format="json")
    assert empty.status_code == 400


# --- Who may do what -----------------------------------------------------------------------------


def test_the_storefront_may_not_decide_and_desk_users_may_not_file(storefront):
    request = waiting()
    assert storefront.post(url(request, "approve"), {}, format="json").status_code == 403
    assert (
        storefront.post(url(request, "refund"), {"amount": "1"}, format="json").status_code == 403
    )
    assert storefront.get(url()).status_code == 403
    agent = session_client(desk_agent())
    assert agent.post(url(), body(request.order), format="json").status_code == 403
    assert agent.post(url(request, "cancel"), format="json").status_code == 403


def test_without_credentials_it_is_401():
    request = waiting()
    assert APIClient().get(url(request)).status_code == 401
    assert APIClient().post(url(), {}, format="json").status_code == 401


def test_an_agent_sees_only_returns_whose_ticket_is_in_their_teams():
    request = waiting()
    outsider = agent_user()
    TeamFactory(members=[outsider])
    client = session_client(outsider)
    assert client.get(url(request)).status_code == 404
    assert client.post(url(request, "approve"), {}, format="json").status_code == 404
    assert client.post(url(request, "refund"), {"amount": "1"}, format="json").status_code == 404
    assert client.get(url()).json()["results"] == []
    assert session_client(desk_agent()).get(url(request)).status_code == 200
    assert session_client(admin_user()).get(url(request)).status_code == 200
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED


@pytest.mark.parametrize("public_id", ["RNOPE", "R" * 17, "R\x00"])
def test_an_unknown_or_malformed_id_is_404(storefront, public_id):
    assert storefront.get(url(public_id)).status_code == 404
    assert storefront.post(url(public_id, "cancel")).status_code == 404


# --- Desk actions --------------------------------------------------------------------------------


def test_an_agent_approves_and_sees_the_staff_block():
    request = waiting()
    agent = desk_agent(username="li.na")
    response = session_client(agent).post(
        url(request, "approve"), {"reason": "Unworn"}, format="json"
    )
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "awaiting_return"
    assert data["decision"]["reason"] == "Unworn"
    assert data["staff"]["decided_by"] == "li.na"
    assert data["staff"]["return_due_at"] == (NOW + 7 * DAY).isoformat()
    assert data["staff"]["events"][-1]["actor"] == {"kind": "user", "name": "li.na"}


def test_above_the_limit_an_agent_gets_403_needs_supervisor_and_a_supervisor_approves():
    request = waiting(expensive_order(), lines=[("TV", 1)])
    agent = session_client(desk_agent())
    response = agent.post(url(request, "approve"), {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "needs_supervisor"
    boss = session_client(desk_supervisor())
    queue = boss.get(url(), {"needs_supervisor": "1"}).json()["results"]
    assert [(r["id"], r["proposed_by"]) for r in queue] == [
        (request.public_id, request.__class__.objects.get().proposed_by.username)
    ]
    approved = boss.post(url(request, "approve"), {}, format="json")
    assert approved.status_code == 200
    assert approved.json()["status"] == "awaiting_return"
    assert boss.get(url(), {"needs_supervisor": "1"}).json()["results"] == []


def test_a_rejection_needs_a_reason():
    request = waiting()
    client = session_client(desk_agent())
    assert client.post(url(request, "reject"), {}, format="json").status_code == 400
    response = client.post(url(request, "reject"), {"reason": "Used"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"


def test_receive_inspect_and_refund_through_the_api(django_capture_on_commit_callbacks):
    request = file_request(delivered_order(), lines=[("TS-1", 2)], now=NOW)
    client = session_client(desk_agent())
    received = client.post(url(request, "receive"), format="json")
    assert received.status_code == 200
    assert received.json()["staff"]["refund_due_at"] == "2026-03-09T15:00:00+08:00"
    assert client.post(url(request, "inspect"), {}, format="json").status_code == 400
    inspected = client.post(url(request, "inspect"), {"passed": True}, format="json")
    assert inspected.json()["status"] == "inspected"
    headers = {"HTTP_IDEMPOTENCY_KEY": "refund-1"}
    with django_capture_on_commit_callbacks(execute=True):
        refund = client.post(url(request, "refund"), {"amount": "50.00"}, format="json", **headers)
    assert refund.status_code == 201
    assert refund.json() | {"created_at": None} == {
        "return_id": request.public_id,
        "return_status": "refunded",
        "amount": "50.00",
        "currency": "CNY",
        "status": "pending",
        "created_at": None,
        "settled_at": None,
    }
    # The payout ran after the commit, once.
    assert Refund.objects.get().status == RefundStatus.SUCCEEDED
    assert GatewayPayout.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(url(request, "refund"), {"amount": "50.00"}, format="json", **headers)
        other = client.post(url(request, "refund"), {"amount": "60.00"}, format="json", **headers)
    assert again.status_code == 201
    assert again.json() == refund.json()
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Refund.objects.count() == 1
    assert GatewayPayout.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.001", None])
def test_an_invalid_refund_amount_is_400(amount):
    request = file_request(delivered_order(), now=NOW)
    client = session_client(desk_agent())
    response = client.post(url(request, "refund"), {"amount": amount}, format="json")
    assert response.status_code == 400
    assert "amount" in response.json()["errors"]


def test_a_refund_before_inspection_is_409_and_above_the_limit_403():
    request = file_request(delivered_order(), now=NOW)
    client = session_client(desk_agent())
    early = client.post(url(request, "refund"), {"amount": "10"}, format="json")
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_state"
    big = waiting(expensive_order(), lines=[("TV", 1)])
    boss = session_client(desk_supervisor())
    boss.post(url(big, "approve"), {}, format="json")
    boss.post(url(big, "receive"), format="json")
    boss.post(url(big, "inspect"), {"passed": True}, format="json")
    over = client.post(url(big, "refund"), {"amount": "1000.01"}, format="json")
    assert over.status_code == 403
    assert over.json()["code"] == "needs_supervisor"


def test_an_exchange_through_the_api(storefront):
    request = file_request(delivered_order(), type="exchange", reason="size_fit", now=NOW)
    client = session_client(desk_agent())
    assert client.post(url(request, "approve"), {}, format="json").status_code == 200
    storefront.post(url(request, "shipment"), {"carrier": "SF", "tracking_number": "1"})
    client.post(url(request, "receive"), format="json")
    client.post(url(request, "inspect"), {"passed": True, "notes": "Fine"}, format="json")
    response = client.post(url(request, "exchange"), format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "exchanged"
    assert client.post(url(request, "exchange"), format="json").status_code == 409


# --- The queue -----------------------------------------------------------------------------------


def test_the_queue_filters_by_status_and_shows_failed_payouts_to_supervisors():
    order = delivered_order([{"sku": "TS-1", "quantity": 3}])
    requested = waiting(order)
    paid = file_request(order, type="refund_only", reason="quality", now=NOW)
    Refund.objects.filter(request=paid).update(
        status=RefundStatus.FAILED, needs_attention=True, last_error="provider down"
    )
    boss = session_client(desk_supervisor())
    by_status = boss.get(url(), {"status": "requested"}).json()["results"]
    assert [r["id"] for r in by_status] == [requested.public_id]
    attention = boss.get(url(), {"needs_supervisor": "1"}).json()["results"]
    assert [(r["id"], r["payout_needs_attention"]) for r in attention] == [(paid.public_id, True)]
    assert {r["id"] for r in boss.get(url()).json()["results"]} == {
        requested.public_id,
        paid.public_id,
    }


@pytest.mark.parametrize(
    "params", [{"status": "lost"}, {"type": "gift"}, {"needs_supervisor": "maybe"}]
)
def test_an_invalid_filter_is_400(params):
    response = session_client(desk_agent()).get(url(), params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_queue_loads_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    client = session_client(desk_supervisor())
    order = delivered_order([{"sku": "TS-1", "quantity": 30}])
    for _ in range(3):
        waiting(order)
    with django_assert_max_num_queries(8) as few:
        assert len(client.get(url()).json()["results"]) == 3
    for _ in range(20):
        waiting(order)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url()).json()["results"]) == 23


def test_the_detail_loads_in_a_fixed_number_of_queries(django_assert_max_num_queries, storefront):
    order = delivered_order([{"sku": f"S-{i}", "quantity": 1} for i in range(5)])
    small = file_request(order, lines=[("S-0", 1)], now=NOW)
    large = file_request(order, lines=[(f"S-{i}", 1) for i in range(1, 5)], now=NOW)
    with django_assert_max_num_queries(20) as few:
        storefront.get(url(small))
    with django_assert_max_num_queries(len(few.captured_queries)):
        storefront.get(url(large))
