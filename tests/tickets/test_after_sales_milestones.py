"""An agent's explicit Accept (受理) and "reply as handling plan" (处理方案) on an after-sales
ticket, through the agents' API and the desk; refused where a case owns them."""

import pytest
from rest_framework.test import APIClient

from tests.factories import TeamFactory, TicketFactory, storefront_client
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory(name="After-sales")


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def after_sales_ticket(team, **kwargs) -> Ticket:
    return TicketFactory(team=team, kind="after_sales", status="open", **kwargs)


def test_the_accept_endpoint_records_the_acceptance_once(team, agent):
    ticket = after_sales_ticket(team)
    client = session_client(agent)

    first = client.post(f"/api/v1/tickets/{ticket.number}/accept/")
    again = client.post(f"/api/v1/tickets/{ticket.number}/accept/")

    assert first.status_code == 200, first.json()
    assert "acceptance" in Ticket.objects.get(pk=ticket.pk).milestones
    assert (again.status_code, again.json()["code"]) == (409, "acceptance_recorded")


def test_the_accept_endpoint_refuses_a_ticket_whose_case_records_it(team, agent):
    ticket = TicketFactory(team=team, kind="complaint", status="open")
    response = session_client(agent).post(f"/api/v1/tickets/{ticket.number}/accept/")
    assert (response.status_code, response.json()["code"]) == (409, "milestone_not_on_ticket")


def test_another_teams_ticket_cannot_be_accepted(agent):
    ticket = after_sales_ticket(TeamFactory(name="Elsewhere"))
    response = session_client(agent).post(f"/api/v1/tickets/{ticket.number}/accept/")
    assert response.status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).milestones == {}


def test_a_reply_sent_as_the_plan_through_the_api_records_the_plan(team, agent):
    ticket = after_sales_ticket(team)
    response = session_client(agent).post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "为您安排换新", "as_plan": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert set(Ticket.objects.get(pk=ticket.pk).milestones) == {"acceptance", "plan"}


def test_the_storefront_cannot_send_a_plan(team):
    ticket = after_sales_ticket(team)
    client = storefront_client()
    response = client.post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "我自己的方案", "as_plan": True},
        format="json",
    )
    assert response.status_code in (400, 404)
    assert Ticket.objects.get(pk=ticket.pk).milestones == {}


def test_a_plan_as_an_internal_note_is_refused_with_a_clear_message(team, agent):
    ticket = after_sales_ticket(team)
    response = session_client(agent).post(
        f"/api/v1/tickets/{ticket.number}/messages/",
        {"body": "方案草稿", "internal": True, "as_plan": True},
        format="json",
    )
    assert response.status_code == 400
    assert "as_plan" in response.json()["errors"]
    assert not Ticket.objects.get(pk=ticket.pk).messages.exists()


def test_the_desk_shows_accept_and_plan_on_after_sales_tickets_only(client, team, agent):
    client.force_login(agent)
    ticket = after_sales_ticket(team)
    inquiry = TicketFactory(team=team, kind="inquiry", status="open")

    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    other = client.get(f"/desk/tickets/{inquiry.number}/").content.decode()

    assert 'id="accept-ticket"' in page
    assert 'id="reply-plan"' in page
    assert 'id="accept-ticket"' not in other
    assert 'id="reply-plan"' not in other


def test_the_desk_accepts_and_replies_with_the_plan(client, team, agent):
    client.force_login(agent)
    ticket = after_sales_ticket(team)

    accepted = client.post(f"/desk/tickets/{ticket.number}/accept/", HTTP_HX_REQUEST="true")
    assert accepted.status_code == 200
    assert 'id="accepted-at"' in accepted.content.decode()
    assert 'id="accept-ticket"' not in accepted.content.decode()

    replied = client.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "为您安排上门维修", "action": "reply_plan"},
        HTTP_HX_REQUEST="true",
    )
    assert replied.status_code == 200
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert set(ticket.milestones) == {"acceptance", "plan"}
    assert ticket.messages.filter(author_kind="agent", internal=False).count() == 1
    assert 'id="reply-plan"' not in replied.content.decode()


def test_the_desk_explains_a_refused_accept(client, team, agent):
    client.force_login(agent)
    ticket = TicketFactory(team=team, kind="return_refund", status="open")
    response = client.post(f"/desk/tickets/{ticket.number}/accept/", HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "fields-error" in response.content.decode()
