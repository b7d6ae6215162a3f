"""The desk: the complaints queue, the complaint panel on its ticket and its actions."""

from __future__ import annotations

import pytest
from django.utils import translation

from complaints import services
from complaints.models import Complaint
from tests.complaints.helpers import STOREFRONT, T0, delivered_order, file_complaint
from tests.factories import CustomerFactory, TeamFactory, agent_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def agent_client(client, desk):
    client.force_login(desk.agent)
    return client


def panel(html: str) -> str:
    return html.split('id="complaint-panel"', 1)[1].split("</section>", 1)[0]


def act(client, complaint, action: str, data=None, **headers):
    return client.post(f"/desk/complaints/{complaint.number}/{action}/", data or {}, **headers)


def test_the_ticket_page_shows_the_complaint_panel_with_the_customers_history(desk, agent_client):
    customer = CustomerFactory(name="王小芳", phone="13912345678")
    order = delivered_order(customer=customer)
    earlier = file_complaint(customer=customer, order=order, category="logistics", now=T0)
    complaint = file_complaint(customer=customer, order=order, now=T0)
    html = agent_client.get(f"/desk/tickets/{complaint.ticket.number}/").content.decode()
    shown = panel(html)
    assert complaint.number in shown
    assert 'id="complaint-repeat"' in shown  # flagged as a repeat
    assert earlier.number in shown.split('id="complaint-repeats"', 1)[1]
    assert earlier.number in shown.split('id="complaint-history"', 1)[1]
    assert 'id="complaint-accept"' in shown
    assert "13912345678" not in shown
    assert "王小芳" not in shown


def test_the_history_lists_every_complaint_of_the_customer_newest_first(desk, agent_client):
    from datetime import timedelta

    from tests.factories import ComplaintFactory

    customer = CustomerFactory()
    old = ComplaintFactory(customer=customer, created_at=T0 - timedelta(days=90))
    older = ComplaintFactory(customer=customer, created_at=T0 - timedelta(days=200))
    ComplaintFactory()  # another customer's
    complaint = file_complaint(customer=customer, now=T0)
    html = agent_client.get(f"/desk/tickets/{complaint.ticket.number}/").content.decode()
    history = panel(html).split('id="complaint-history"', 1)[1].split("</ul>", 1)[0]
    assert history.count("<li>") == 2
    assert history.index(old.number) < history.index(older.number)


def test_a_ticket_without_a_complaint_has_no_panel(desk, agent_client):
    from tests.factories import TicketFactory

    ticket = TicketFactory(team=desk.team)
    html = agent_client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="complaint-panel"' not in html


def test_an_agent_accepts_investigates_notes_escalates_and_proposes_a_plan(desk, agent_client):
    complaint = file_complaint()
    response = act(agent_client, complaint, "accept", **HTMX)
    assert response.status_code == 200
    assert "Accepted" in panel(response.content.decode())
    act(agent_client, complaint, "investigate", **HTMX)
    act(agent_client, complaint, "note", {"note": "仓库确认批次问题"}, **HTMX)
    act(
        agent_client,
        complaint,
        "findings",
        {"root_cause": "染色", "responsible_party": "merchant"},
        **HTMX,
    )
    response = act(agent_client, complaint, "escalate", {"reason": "客户要求主管"}, **HTMX)
    assert "Level 2" in panel(response.content.decode())
    response = act(agent_client, complaint, "plan", {"plan": "退款50元"}, **HTMX)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.escalation_level, complaint.plan) == (
        "plan_proposed",
        2,
        "退款50元",
    )
    assert "仓库确认批次问题" in complaint.investigation_notes
    assert (complaint.root_cause, complaint.responsible_party) == ("染色", "merchant")
    assert complaint.ticket.milestones.keys() == {"acceptance", "plan"}


def test_recording_the_remedy_and_asking_to_confirm(desk, agent_client):
    complaint = file_complaint()
    for action in ("accept", "investigate"):
        act(agent_client, complaint, action, **HTMX)
    act(agent_client, complaint, "plan", {"plan": "补发"}, **HTMX)
    refused = act(agent_client, complaint, "request-confirmation", **HTMX)
    assert refused.status_code == 422
    assert 'id="complaint-error"' in refused.content.decode()
    act(
        agent_client,
        complaint,
        "remedy",
        {"remedy_type": "replacement", "note": "补发新品"},
        **HTMX,
    )
    response = act(agent_client, complaint, "request-confirmation", **HTMX)
    assert response.status_code == 200
    complaint.refresh_from_db()
    assert (complaint.status, complaint.remedy_type) == ("awaiting_confirmation", "replacement")


def test_a_refused_action_shows_inline_with_its_status(desk, agent_client):
    complaint = file_complaint()
    response = act(agent_client, complaint, "investigate", **HTMX)
    assert response.status_code == 409
    assert 'id="complaint-error"' in response.content.decode()
    response = act(agent_client, complaint, "escalate", {"reason": ""}, **HTMX)
    assert response.status_code == 422


def test_without_htmx_an_action_redirects_to_the_ticket(desk, agent_client):
    complaint = file_complaint()
    response = act(agent_client, complaint, "accept")
    assert response.status_code == 302
    assert response["Location"] == f"/desk/tickets/{complaint.ticket.number}/"


def test_another_teams_complaint_is_a_404_on_the_desk(desk, client):
    complaint = file_complaint()
    outsider = agent_user()
    TeamFactory(members=[outsider])
    client.force_login(outsider)
    assert act(client, complaint, "accept").status_code == 404
    assert complaint.number not in client.get("/desk/complaints/").content.decode()
    assert act(client, complaint, "nope").status_code == 404


def test_the_queue_lists_open_complaints_gravest_first_with_masked_customers(desk, agent_client):
    minor = file_complaint(customer=CustomerFactory(name="李四"))
    critical = file_complaint(category="privacy")
    html = agent_client.get("/desk/complaints/").content.decode()
    rows = html.split('id="complaint-queue"', 1)[1]
    assert rows.index(critical.number) < rows.index(minor.number)
    assert "李四" not in html
    assert "李*" in html
    filtered = agent_client.get("/desk/complaints/?severity=minor").content.decode()
    assert minor.number in filtered
    assert critical.number not in filtered


def test_supervisors_see_escalated_complaints_first(desk, client):
    critical = file_complaint(category="privacy")
    escalated = file_complaint()
    services.complaint_escalate(complaint=escalated, reason="x", actor=STOREFRONT, now=T0)
    client.force_login(desk.supervisor)
    rows = client.get("/desk/complaints/").content.decode().split('id="complaint-queue"', 1)[1]
    assert rows.index(escalated.number) < rows.index(critical.number)


def test_the_queue_loads_in_a_fixed_number_of_queries(
    desk, agent_client, django_assert_max_num_queries
):
    file_complaint()
    with django_assert_max_num_queries(20) as few:
        agent_client.get("/desk/complaints/")
    for _ in range(5):
        file_complaint(customer=CustomerFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        agent_client.get("/desk/complaints/")


def test_the_pages_are_translated(desk, agent_client):
    complaint = file_complaint()
    with translation.override("zh-hans"):
        agent_client.cookies["django_language"] = "zh-hans"
        html = agent_client.get("/desk/complaints/", HTTP_ACCEPT_LANGUAGE="zh-hans").content
    html = html.decode()
    assert "投诉" in html
    assert complaint.number in html


def test_only_desk_users_reach_the_queue(client):
    assert client.get("/desk/complaints/").status_code == 302  # to the login page
    client.force_login(_no_role_user())
    assert client.get("/desk/complaints/").status_code == 404


def _no_role_user():
    from tests.factories import UserFactory

    return UserFactory()


def test_the_complaint_count_is_unchanged_by_viewing(desk, agent_client):
    complaint = file_complaint()
    agent_client.get(f"/desk/tickets/{complaint.ticket.number}/")
    assert Complaint.objects.count() == 1


def test_the_complaint_panel_loads_in_a_fixed_number_of_queries(
    desk, agent_client, django_assert_max_num_queries
):
    customer = CustomerFactory()
    complaint = file_complaint(customer=customer)
    page = f"/desk/tickets/{complaint.ticket.number}/"
    with django_assert_max_num_queries(40) as few:
        agent_client.get(page)
    for i in range(4):
        services.complaint_note_add(complaint=complaint, note=f"记录 {i}", actor=desk.agent_actor)
        file_complaint(customer=customer, category="logistics")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "记录 3" in agent_client.get(page).content.decode()


# --- Filing a complaint from an ordinary ticket -----------------------------------------------


def inquiry_ticket(desk, **kwargs):
    from csplatform.actors import Actor
    from tickets.services import ticket_create

    order = delivered_order()
    return ticket_create(
        customer=order.customer,
        order=order,
        kind="inquiry",
        channel="chat",
        subject="快递怎么还没到",
        body="等了一周了",
        actor=Actor(kind="api_key", label="shop"),
        now=T0,
        **kwargs,
    )


def test_an_agent_files_a_complaint_on_the_ticket_where_the_customer_raised_it(desk, agent_client):
    ticket = inquiry_ticket(desk)
    page = agent_client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'id="start-complaint"' in page

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/complaint/",
        {"category": "logistics", "description": "快递一周未到，客户要求投诉"},
        **HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Redirect"].endswith(f"{ticket.number}/")
    complaint = Complaint.objects.get()
    ticket.refresh_from_db()
    assert complaint.ticket == ticket
    assert ticket.kind == "complaint"
    assert (complaint.category, complaint.order) == ("logistics", ticket.order)
    assert ticket.sla_clocks.filter(metric="acceptance").exists()  # the complaint timers run
    assert ticket.events.filter(type="kind", new_value="complaint").exists()
    page = agent_client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert complaint.number in panel(page)
    assert 'id="start-complaint"' not in page


def test_a_complaint_raised_on_a_closed_ticket_gets_its_own_ticket_linked_to_it(desk):
    from tickets.services import ticket_update

    ticket = inquiry_ticket(desk)
    ticket_update(ticket=ticket, by_user=desk.agent, status="solved", now=T0)
    ticket.refresh_from_db()
    ticket_update(ticket=ticket, by_user=desk.agent, status="closed", now=T0)
    ticket.refresh_from_db()

    complaint = services.complaint_create(
        customer=ticket.customer,
        order=ticket.order,
        category="logistics",
        channel=ticket.channel,
        description="还是没到",
        actor=desk.agent_actor,
        ticket=ticket,
        now=T0,
    )

    assert complaint.ticket != ticket
    assert (complaint.ticket.kind, complaint.ticket.linked_from) == ("complaint", ticket)


def test_a_ticket_carries_one_complaint_and_another_customers_ticket_none(desk):
    from csplatform.errors import ConflictError, InvalidInput

    ticket = inquiry_ticket(desk)
    args = {"category": "logistics", "channel": "chat", "description": "慢", "now": T0}
    services.complaint_create(
        customer=ticket.customer, actor=desk.agent_actor, ticket=ticket, **args
    )
    with pytest.raises(ConflictError):
        services.complaint_create(
            customer=ticket.customer, actor=desk.agent_actor, ticket=ticket, **args
        )
    with pytest.raises(InvalidInput):
        services.complaint_create(
            customer=CustomerFactory(), actor=desk.agent_actor, ticket=ticket, **args
        )


def test_filing_needs_a_description_and_another_teams_ticket_is_a_404(desk, agent_client, client):
    ticket = inquiry_ticket(desk)
    refused = agent_client.post(
        f"/desk/tickets/{ticket.number}/complaint/", {"category": "logistics"}
    )
    assert refused.status_code == 302
    assert not Complaint.objects.exists()

    outsider = agent_user(username="outsider")
    TeamFactory(name="Other").members.add(outsider)
    client.force_login(outsider)
    hidden = client.post(
        f"/desk/tickets/{ticket.number}/complaint/", {"category": "logistics", "description": "d"}
    )
    assert hidden.status_code == 404
