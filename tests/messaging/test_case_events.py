"""Every move of a return request or a complaint, and every survey invitation sent, is a webhook
event written in the transaction of the change, with the resource as the storefront's GET
endpoint shows it; delivered to a real receiver that checks the signatures."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from rest_framework.test import APIClient

from complaints import services as complaints
from messaging.choices import WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import OutboxEvent
from refunds.models import ReturnRequest
from refunds.services import (
    return_request_approve,
    return_request_receive,
    return_request_reject,
)
from tests.complaints.helpers import Desk as ComplaintDesk
from tests.complaints.helpers import file_complaint, walk_to
from tests.factories import CustomerFactory, webhook_endpoint
from tests.messaging.receiver import signature_valid
from tests.refunds.helpers import DAY, DELIVERED, delivered_order, desk_supervisor, file_request
from tests.surveys.helpers import T0, solve, sweep
from tests.surveys.helpers import Desk as SurveyDesk

pytestmark = pytest.mark.django_db


def delivered(receiver, secret: str, type: str) -> list[dict]:
    """Send what is due; the documents of ``type`` the receiver got, each signature checked."""
    deliveries_send_due()
    assert all(signature_valid(secret, r.headers, r.body) for r in receiver.received)
    return [r.document["data"] for r in receiver.received if r.document["type"] == type]


def test_each_move_of_a_return_is_a_return_updated_event_with_the_storefront_view(receiver):
    _endpoint, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.RETURN_UPDATED])
    boss = desk_supervisor()
    request = file_request(delivered_order(), lines=[("TS-1", 2)], reason="not_as_described")
    assert not OutboxEvent.objects.exists()  # filed by the storefront: no move yet

    return_request_approve(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    return_request_receive(request=request, by_user=boss, now=DELIVERED + 5 * DAY)

    documents = delivered(receiver, secret, "return.updated")
    # An approval of goods coming back is one change (approved → awaiting_return): one event,
    # with the request as it committed.
    assert [d["status"] for d in documents] == ["awaiting_return", "received"]
    first = documents[0]
    assert first["id"] == request.public_id
    assert first["order_number"] == request.order.number
    assert first["decision"]["outcome"] == "approved"
    assert first["staff"] is None  # the storefront's view: no desk names, no deadlines
    assert [(s["old_status"], s["new_status"]) for s in first["timeline"] if s["new_status"]][
        -2:
    ] == [("requested", "approved"), ("approved", "awaiting_return")]
    assert {e.ordering_key for e in OutboxEvent.objects.all()} == {f"order:{request.order_id}"}


def test_a_rejection_is_a_return_updated_event_with_its_reason(receiver):
    _endpoint, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.RETURN_UPDATED])
    request = file_request(delivered_order(), reason="not_as_described")
    return_request_reject(
        request=request, by_user=desk_supervisor(), reason="超过7天", now=DELIVERED + 2 * DAY
    )
    (document,) = delivered(receiver, secret, "return.updated")
    assert (document["status"], document["decision"]["reason"]) == ("rejected", "超过7天")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_return_move_emits_nothing(receiver):
    webhook_endpoint(receiver.url, events=[WebhookEventType.RETURN_UPDATED])
    request = file_request(delivered_order(), reason="not_as_described")
    boss = desk_supervisor()
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        return_request_approve(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
        raise RuntimeError("the request failed after the approval was written")
    assert ReturnRequest.objects.get().status == "requested"
    assert not OutboxEvent.objects.exists()
    deliveries_send_due()
    assert receiver.received == []

    return_request_approve(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    # Woken after the commit (tasks run in-process in the tests): delivered at once.
    assert receiver.types() == ["return.updated"]


def test_each_move_of_a_complaint_is_a_complaint_updated_event_without_desk_secrets(receiver):
    desk = ComplaintDesk()
    _endpoint, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.COMPLAINT_UPDATED])
    complaint = walk_to(file_complaint(), "plan_proposed", desk.agent_actor)
    complaints.complaint_note_add(complaint=complaint, note="仓库批次问题", actor=desk.agent_actor)

    documents = delivered(receiver, secret, "complaint.updated")
    assert [d["status"] for d in documents] == ["accepted", "investigating", "plan_proposed"]
    last = documents[-1]
    assert last["number"] == complaint.number
    assert last["plan"] == "为您补发一件新品并赠送20元优惠券"
    assert [step["status"] for step in last["progress"]][-3:] == [
        "accepted",
        "investigating",
        "plan_proposed",
    ]
    assert "仓库批次问题" not in str(documents)  # investigation notes never leave the desk
    assert "escalation_level" not in last


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_complaint_move_emits_nothing(receiver):
    desk = ComplaintDesk()
    webhook_endpoint(receiver.url, events=[WebhookEventType.COMPLAINT_UPDATED])
    complaint = file_complaint()
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        complaints.complaint_accept(complaint=complaint, actor=desk.agent_actor)
        raise RuntimeError("the request failed after the acceptance was written")
    assert not OutboxEvent.objects.exists()
    deliveries_send_due()
    assert receiver.received == []

    complaints.complaint_accept(complaint=complaint, actor=desk.agent_actor)
    assert receiver.types() == ["complaint.updated"]


def test_a_sent_survey_invitation_is_an_event_with_its_public_link(
    receiver, django_capture_on_commit_callbacks
):
    desk = SurveyDesk()
    _endpoint, secret = webhook_endpoint(
        receiver.url, events=[WebhookEventType.SURVEY_INVITATION_CREATED]
    )
    ticket = desk.ticket(customer=CustomerFactory())
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    assert not OutboxEvent.objects.exists()  # scheduled, not sent: it may still be cancelled

    sweep(T0 + 2 * DAY, django_capture_on_commit_callbacks)

    (document,) = delivered(receiver, secret, "survey.invitation.created")
    assert document["kind"] == "csat"
    assert document["status"] == "sent"
    assert document["ticket_number"] == ticket.number
    assert document["customer"] == {"external_id": ticket.customer.external_id}
    assert document["url"].endswith(f"/{document['token']}")
    # The token is the survey's credential: the public API answers it while it is valid.
    with time_machine.travel(T0 + 2 * DAY + timedelta(hours=1), tick=False):
        survey = APIClient().get(f"/api/v1/surveys/{document['token']}/")
    assert (survey.status_code, survey.json()["kind"]) == (200, "csat")


def test_return_and_complaint_events_are_subscribed_separately():
    webhook_endpoint("http://127.0.0.1:9/hooks", events=[WebhookEventType.COMPLAINT_UPDATED])
    request = file_request(delivered_order(), reason="not_as_described")
    return_request_approve(request=request, by_user=desk_supervisor(), now=DELIVERED + 2 * DAY)
    assert not OutboxEvent.objects.exists()


def test_an_approval_at_filing_is_an_event_too(receiver):
    _endpoint, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.RETURN_UPDATED])
    # A no-reason return within the automatic limit is approved as it is filed; a refund-only
    # one is refunded at once (its payout follows).
    request = file_request(
        delivered_order(), type="refund_only", reason="quality", amount=Decimal("10.00")
    )
    (document,) = delivered(receiver, secret, "return.updated")
    assert (document["id"], document["status"]) == (request.public_id, "refunded")
    assert document["decision"]["by"] == "system"
    assert [r["amount"] for r in document["refunds"]] == ["10.00"]


def test_a_storefront_subscribes_to_the_case_events_and_the_notices_through_the_api(
    admin_client_,
):
    from django.urls import reverse

    from messaging.models import WebhookEndpoint
    from tests.factories import storefront_client

    events = ["return.updated", "complaint.updated", "survey.invitation.created", "customer.notice"]
    response = storefront_client().post(
        "/api/v1/webhooks/", {"url": "https://shop.example/hooks", "events": events}, format="json"
    )
    assert response.status_code == 201, response.content
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == events
    # The admin offers them too.
    page = admin_client_.get(reverse("admin:messaging_webhookendpoint_change", args=[endpoint.pk]))
    for event in events:
        assert f'value="{event}"' in page.content.decode()
