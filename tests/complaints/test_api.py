"""The complaints endpoints of api.md: the storefront files, follows and confirms; the desk
works the queue and changes complaints.

The customer sees progress, the plan, the remedy and the confirmation, never the internal
investigation notes, root cause, responsible party or escalation; desk users see complaints
whose ticket is in their teams (others: 404).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from complaints import services
from complaints.models import Complaint
from tests.complaints.helpers import HOUR, STOREFRONT, T0, delivered_order, file_complaint
from tests.complaints.helpers import walk_to as walk
from tests.factories import CustomerFactory, TeamFactory, agent_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = T0 + HOUR
SECRET_NOTE = "内部：仓库批次 B-17 有色差，供应商责任"
ROOT_CAUSE = "供应商染色工艺问题"


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def url(number: str = "", action: str = "") -> str:
    if not number:
        return "/api/v1/complaints/"
    return f"/api/v1/complaints/{number}/" + (f"{action}/" if action else "")


def body(**overrides) -> dict:
    return {
        "customer": {"external_id": "C-8001", "name": "王芳", "phone": "13912345678"},
        "category": "product_quality",
        "channel": "app",
        "description": "衣服洗一次就褪色了",
        **overrides,
    }


def test_the_storefront_files_a_complaint_and_gets_its_numbers(desk, storefront):
    response = storefront.post(url(), body(), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    complaint = Complaint.objects.get()
    assert data == {
        "number": complaint.number,
        "ticket_number": complaint.ticket.number,
        "status": "received",
        "severity": "minor",
        "category": "product_quality",
        "created_at": data["created_at"],
    }
    assert complaint.customer.external_id == "C-8001"
    assert complaint.ticket.channel == "app"


def test_a_retried_post_with_the_same_idempotency_key_files_one_complaint(desk, storefront):
    first = storefront.post(url(), body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = storefront.post(url(), body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = storefront.post(
        url(), body(description="别的"), format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert Complaint.objects.count() == 1


def test_the_complaint_can_name_the_customers_order(desk, storefront):
    order = delivered_order(customer=CustomerFactory(external_id="C-8001"))
    response = storefront.post(url(), body(order_number=order.number), format="json")
    assert response.status_code == 201
    assert Complaint.objects.get().order == order


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "bad"}, "category"),
        ({"channel": "fax"}, "channel"),
        ({"description": ""}, "description"),
        ({"customer": {}}, "customer"),
        ({"order_number": "SO-NOPE"}, "order_number"),
    ],
)
def test_invalid_input_is_a_400_field_by_field(desk, storefront, change, field):
    response = storefront.post(url(), body(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"] or field in response.json()
    assert Complaint.objects.count() == 0


def test_another_customers_order_is_a_400(desk, storefront):
    order = delivered_order()
    response = storefront.post(url(), body(order_number=order.number), format="json")
    assert response.status_code == 400
    assert Complaint.objects.count() == 0


def test_only_the_storefront_files_and_only_desk_users_list(desk, storefront):
    assert session_client(desk.agent).post(url(), body(), format="json").status_code == 403
    assert storefront.get(url()).status_code == 403
    assert APIClient().post(url(), body(), format="json").status_code in (401, 403)


def _worked_complaint(desk) -> Complaint:
    complaint = file_complaint(now=T0)
    complaint = walk(complaint, "investigating", desk.agent_actor, now=T0 + HOUR)
    services.complaint_note_add(complaint=complaint, note=SECRET_NOTE, actor=desk.agent_actor)
    services.complaint_findings_set(
        complaint=complaint,
        root_cause=ROOT_CAUSE,
        responsible_party="merchant",
        actor=desk.agent_actor,
    )
    services.complaint_escalate(
        complaint=complaint, reason="客户要求主管处理", actor=desk.agent_actor
    )
    return walk(complaint, "plan_proposed", desk.agent_actor, now=T0 + HOUR)


def test_the_customer_sees_progress_and_the_plan_never_the_internal_investigation(desk, storefront):
    complaint = _worked_complaint(desk)
    response = storefront.get(url(complaint.number))
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "plan_proposed"
    assert data["plan"] == "为您补发一件新品并赠送20元优惠券"
    assert [step["status"] for step in data["progress"]] == [
        "received",
        "accepted",
        "investigating",
        "plan_proposed",
    ]
    assert data["can_confirm"] is False
    text = response.content.decode()
    for secret in (SECRET_NOTE, ROOT_CAUSE, "merchant", "客户要求主管处理", "li.na", "escalat"):
        assert secret not in text
    for field in ("investigation_notes", "root_cause", "responsible_party", "escalation_level"):
        assert field not in data


def test_agents_see_the_internal_fields(desk):
    complaint = _worked_complaint(desk)
    data = session_client(desk.agent).get(url(complaint.number)).json()
    assert SECRET_NOTE in data["investigation_notes"]
    assert (data["root_cause"], data["responsible_party"]) == (ROOT_CAUSE, "merchant")
    assert data["escalation_level"] == 2
    assert data["customer"]["phone"] != complaint.customer.phone  # masked
    assert data["allowed_next_statuses"] == ["awaiting_confirmation"]


def test_another_teams_complaint_is_a_404_for_a_desk_user(desk):
    complaint = file_complaint()
    outsider = agent_user()
    TeamFactory(members=[outsider])
    client = session_client(outsider)
    assert client.get(url(complaint.number)).status_code == 404
    assert (
        client.patch(url(complaint.number), {"status": "accepted"}, format="json").status_code
        == 404
    )
    assert client.get(url("C-999999")).status_code == 404
    assert client.get(url()).json()["results"] == []


def test_the_customer_accepts_the_outcome_and_the_complaint_closes(desk, storefront):
    complaint = walk(file_complaint(), "awaiting_confirmation", desk.agent_actor, now=T0)
    assert storefront.get(url(complaint.number)).json()["can_confirm"] is True
    response = storefront.post(
        url(complaint.number, "confirm"), {"accepted": True, "comment": "满意"}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["closed_as"]) == ("closed", "confirmed")
    assert data["confirmation"]["answer"] == "accepted"


def test_the_customer_rejects_the_outcome_and_it_goes_back_to_investigating(desk, storefront):
    complaint = walk(file_complaint(), "awaiting_confirmation", desk.agent_actor, now=T0)
    response = storefront.post(
        url(complaint.number, "confirm"), {"accepted": False, "comment": "不满意"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "investigating"
    assert Complaint.objects.get().escalation_level == 2


def test_confirming_a_complaint_that_does_not_wait_for_it_is_a_409(desk, storefront):
    complaint = file_complaint()
    response = storefront.post(url(complaint.number, "confirm"), {"accepted": True}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_awaiting_confirmation"
    assert storefront.post(url(complaint.number, "confirm"), {}, format="json").status_code == 400
    assert (
        session_client(desk.agent)
        .post(url(complaint.number, "confirm"), {"accepted": True}, format="json")
        .status_code
        == 403
    )


def test_an_agent_moves_the_complaint_along_with_patch(desk):
    complaint = file_complaint()
    client = session_client(desk.agent)
    response = client.patch(url(complaint.number), {"status": "accepted"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    response = client.patch(
        url(complaint.number),
        {
            "status": "investigating",
            "note": "已联系仓库",
            "category": "logistics",
            "severity": "major",
            "root_cause": "包装破损",
            "responsible_party": "carrier",
        },
        format="json",
    )
    data = response.json()
    assert (data["status"], data["category"], data["severity"]) == (
        "investigating",
        "logistics",
        "major",
    )
    assert "已联系仓库" in data["investigation_notes"]
    response = client.patch(
        url(complaint.number),
        {
            "status": "plan_proposed",
            "plan": "补偿30元",
            "remedy_type": "compensation",
            "remedy_amount": "30.00",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["remedy"]["amount"] == "30.00"
    response = client.patch(
        url(complaint.number), {"status": "awaiting_confirmation"}, format="json"
    )
    assert response.json()["status"] == "awaiting_confirmation"


def test_a_patch_the_lifecycle_does_not_allow_is_a_409_and_changes_nothing(desk):
    complaint = file_complaint()
    client = session_client(desk.agent)
    response = client.patch(
        url(complaint.number),
        {"status": "plan_proposed", "plan": "x", "severity": "critical"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert Complaint.objects.get().severity == "minor"  # all or nothing


def test_escalating_through_patch_needs_a_reason(desk):
    complaint = file_complaint()
    client = session_client(desk.agent)
    refused = client.patch(url(complaint.number), {"escalation_level": 3}, format="json")
    assert refused.status_code == 400
    response = client.patch(
        url(complaint.number),
        {"escalation_level": 3, "escalation_reason": "金额大"},
        format="json",
    )
    assert response.json()["escalation_level"] == 3


def test_the_queue_puts_the_gravest_first_and_supervisors_see_escalated_first(desk):
    minor = file_complaint(now=T0)
    critical = file_complaint(category="privacy", now=T0)
    escalated = file_complaint(now=T0)
    services.complaint_escalate(complaint=escalated, reason="x", actor=STOREFRONT, now=T0)
    agent_view = session_client(desk.agent).get(url()).json()["results"]
    assert [c["number"] for c in agent_view] == [
        critical.number,
        escalated.number,
        minor.number,
    ]
    supervisor_view = session_client(desk.supervisor).get(url()).json()["results"]
    assert [c["number"] for c in supervisor_view] == [
        escalated.number,
        critical.number,
        minor.number,
    ]
    filtered = session_client(desk.agent).get(url() + "?severity=critical").json()["results"]
    assert [c["number"] for c in filtered] == [critical.number]
    assert session_client(desk.agent).get(url() + "?escalation_level=9").status_code == 400


def test_the_queue_loads_in_a_fixed_number_of_queries(desk, django_assert_max_num_queries):
    client = session_client(desk.agent)
    file_complaint()
    with django_assert_max_num_queries(12) as few:
        assert client.get(url()).status_code == 200
    for _ in range(5):
        file_complaint(customer=CustomerFactory(), category="privacy")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url()).json()["results"]) == 6


def test_the_detail_loads_in_a_fixed_number_of_queries(
    desk, storefront, django_assert_max_num_queries
):
    complaint = file_complaint()
    with django_assert_max_num_queries(12) as few:
        storefront.get(url(complaint.number))
    walk(complaint, "awaiting_confirmation", desk.agent_actor, now=T0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        storefront.get(url(complaint.number))


def test_an_agent_closes_on_the_customers_word_and_reopens_with_patch(desk):
    complaint = walk(file_complaint(), "awaiting_confirmation", desk.agent_actor, now=T0)
    client = session_client(desk.agent)
    refused = client.patch(url(complaint.number), {"status": "closed"}, format="json")
    assert refused.status_code == 400  # how the customer confirmed is required
    closed = client.patch(
        url(complaint.number), {"status": "closed", "note": "电话确认满意"}, format="json"
    )
    assert (closed.json()["status"], closed.json()["closed_as"]) == ("closed", "confirmed")
    reopened = client.patch(
        url(complaint.number),
        {"status": "investigating", "note": "客户来电反馈问题复现"},
        format="json",
    )
    assert reopened.status_code == 200, reopened.content
    data = reopened.json()
    assert data["status"] == "investigating"
    assert "客户来电反馈问题复现" not in data["investigation_notes"]
    assert data["events"][-1]["type"] == "reopened"
    assert data["events"][-1]["reason"] == "客户来电反馈问题复现"
