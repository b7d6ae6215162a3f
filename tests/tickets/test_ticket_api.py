"""The ticket endpoints of api.md: the storefront's side and the agents' side.

The storefront opens tickets, lists a customer's tickets and posts the customer's messages; it
never sees internal notes, who handles the ticket, the team or the priority. Agents work the
queue of their teams; another team's ticket does not exist for them (404, not 403).
"""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from orders.models import Customer
from tests.factories import (
    DEFAULT_PASSWORD,
    CustomerFactory,
    MessageFactory,
    OrderFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
    admin_user,
    agent_user,
    supervisor_user,
    ticket_state,
)
from tickets.models import Message, Ticket
from tickets.services import ticket_reply

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NOW = T0 + timedelta(days=1)
BASE_DIR = Path(__file__).resolve().parents[2]


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def ticket_url(ticket: Ticket, action: str = "") -> str:
    return f"/api/v1/tickets/{ticket.number}/" + (f"{action}/" if action else "")


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["number"] for row in response.json()["results"]]


# ==============================================================================================
# Storefront
# ==============================================================================================


def new_ticket_body(**overrides) -> dict:
    return {
        "customer": {"external_id": "C-77", "name": "张伟", "phone": "13812345678"},
        "kind": "order_issue",
        "channel": "app",
        "subject": "快递三天没更新",
        "body": "我的包裹一直没有物流信息",
        **overrides,
    }


def test_the_storefront_opens_a_ticket_with_201_and_its_public_fields(storefront):
    with time_machine.travel(T0, tick=False):
        response = storefront.post("/api/v1/tickets/", new_ticket_body(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {"number", "status", "priority", "kind", "channel", "created_at"}
    ticket = Ticket.objects.get(number=body["number"])
    assert body["number"].startswith("T-")
    assert (body["status"], body["priority"]) == ("new", "normal")
    assert (body["kind"], body["channel"]) == ("order_issue", "app")
    assert datetime.fromisoformat(body["created_at"]) == T0
    assert ticket.customer.external_id == "C-77"
    message = ticket.messages.get()
    assert (message.author_kind, message.body) == ("customer", "我的包裹一直没有物流信息")
    assert ticket.events.get(type="created").actor_kind == "api_key"


def test_a_ticket_about_the_customers_own_order_is_linked_to_it(storefront):
    order = OrderFactory(number="SO-3001", customer=CustomerFactory(external_id="C-77"))

    response = storefront.post(
        "/api/v1/tickets/", new_ticket_body(order_number="SO-3001"), format="json"
    )

    assert response.status_code == 201, response.json()
    assert Ticket.objects.get(number=response.json()["number"]).order == order


def test_a_vip_customers_ticket_is_high_priority(storefront):
    customer = {"external_id": "C-88", "name": "王芳", "tier": "vip"}

    response = storefront.post(
        "/api/v1/tickets/", new_ticket_body(customer=customer), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["priority"] == "high"


def test_an_order_of_another_customer_is_400_and_opens_nothing(storefront):
    OrderFactory(number="SO-3002", customer=CustomerFactory(external_id="C-someone-else"))

    response = storefront.post(
        "/api/v1/tickets/", new_ticket_body(order_number="SO-3002"), format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert "order_number" in response.json()["errors"]
    assert not Ticket.objects.exists()
    assert not Customer.objects.filter(external_id="C-77").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "gossip"), ("channel", "fax"), ("subject", ""), ("body", "")],
)
def test_an_invalid_field_is_400_naming_it(storefront, field, value):
    response = storefront.post("/api/v1/tickets/", new_ticket_body(**{field: value}), format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_the_storefront_lists_only_the_tickets_of_the_customer_it_names(storefront):
    mine = CustomerFactory(external_id="C-1")
    own = [TicketFactory(customer=mine, created_at=T0 + timedelta(hours=i)) for i in range(3)]
    TicketFactory(customer=CustomerFactory(external_id="C-2"))

    response = storefront.get("/api/v1/tickets/", {"customer": "C-1"})

    assert numbers(response) == [t.number for t in reversed(own)]  # newest first
    for row in response.json()["results"]:
        assert not {"priority", "assignee", "team", "customer"} & set(row)


def test_the_storefront_list_requires_the_customer(storefront):
    TicketFactory()

    response = storefront.get("/api/v1/tickets/")

    assert response.status_code == 400
    assert "customer" in response.json()["errors"]


def test_the_storefront_list_of_an_unknown_customer_is_empty(storefront):
    TicketFactory()

    assert numbers(storefront.get("/api/v1/tickets/", {"customer": "C-nobody"})) == []


@pytest.fixture
def handled_ticket():
    """A ticket with everything the customer must not see: a named team and agent, a priority,
    an internal note, and a public reply by that agent."""
    agent = agent_user(username="zhao_min_agent", first_name="Min", last_name="Zhaoqian")
    team = TeamFactory(name="Secret Escalations", members=[agent])
    ticket = TicketFactory(
        team=team, assignee=agent, priority="urgent", status="open", created_at=T0, tags=["vip"]
    )
    MessageFactory(ticket=ticket, body="我的订单呢？", created_at=T0)
    ticket_reply(ticket=ticket, user=agent, body="客户很着急 INTERNAL-NOTE", internal=True, now=T0)
    ticket_reply(ticket=ticket, user=agent, body="您好，包裹已发出", now=T0 + timedelta(minutes=3))
    return ticket


def test_the_storefront_detail_shows_public_messages_only_and_no_one_who_handles_it(
    storefront, handled_ticket
):
    response = storefront.get(ticket_url(handled_ticket))

    assert response.status_code == 200
    body = response.json()
    assert [(m["author"], m["body"]) for m in body["messages"]] == [
        ("customer", "我的订单呢？"),
        ("agent", "您好，包裹已发出"),
    ]
    assert not {"assignee", "team", "priority", "owner", "tags", "timeline"} & set(body)
    text = response.content.decode()
    for secret in ("INTERNAL-NOTE", "zhao_min_agent", "Zhaoqian", "Secret Escalations", "urgent"):
        assert secret not in text
    assert "internal" not in json.dumps(body["messages"])


def test_the_agent_detail_of_the_same_ticket_shows_notes_team_assignee_and_priority(
    handled_ticket,
):
    response = session_client(handled_ticket.assignee).get(ticket_url(handled_ticket))

    assert response.status_code == 200
    body = response.json()
    assert (body["team"], body["assignee"], body["priority"]) == (
        "Secret Escalations",
        "zhao_min_agent",
        "urgent",
    )
    assert body["tags"] == ["vip"]
    assert [m["internal"] for m in body["messages"]] == [False, True, False]
    assert body["owner"] == "zhao_min_agent"


def test_a_storefront_message_reopens_a_solved_ticket(storefront):
    ticket = TicketFactory(status="solved", created_at=T0)

    with time_machine.travel(NOW, tick=False):
        response = storefront.post(
            ticket_url(ticket, "messages"), {"body": "还是不行"}, format="json"
        )

    assert response.status_code == 201, response.json()
    assert (response.json()["number"], response.json()["status"]) == (ticket.number, "open")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.reopen_count, ticket.last_customer_message_at) == ("open", 1, NOW)
    assert ticket.messages.get().author_kind == "customer"


def test_a_storefront_message_on_a_closed_ticket_returns_the_new_linked_ticket(storefront):
    closed = TicketFactory(status="closed", created_at=T0)

    response = storefront.post(ticket_url(closed, "messages"), {"body": "又坏了"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] != closed.number
    follow_up = Ticket.objects.get(number=body["number"])
    assert follow_up.linked_from == closed
    assert body["status"] == "new"
    assert [m["body"] for m in body["messages"]] == ["又坏了"]
    closed.refresh_from_db()
    assert closed.status == "closed"


def test_the_storefront_cannot_patch_a_ticket(storefront):
    ticket = TicketFactory(status="open")
    before = ticket_state(ticket)

    response = storefront.patch(ticket_url(ticket), {"status": "solved"}, format="json")

    assert response.status_code == 403
    assert ticket_state(ticket) == before


@pytest.mark.parametrize("extra", [{"internal": True}, {"status": "solved"}])
def test_the_storefront_cannot_post_notes_or_set_a_status(storefront, extra):
    ticket = TicketFactory(status="open")
    before = ticket_state(ticket)

    response = storefront.post(
        ticket_url(ticket, "messages"), {"body": "悄悄话", **extra}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert ticket_state(ticket) == before


def test_the_storefront_cannot_merge(storefront):
    customer = CustomerFactory()
    source, target = TicketFactory(customer=customer), TicketFactory(customer=customer)

    response = storefront.post(ticket_url(source, "merge"), {"into": target.number}, format="json")

    assert response.status_code == 403
    source.refresh_from_db()
    assert source.merged_into is None


def test_without_credentials_the_tickets_are_401():
    ticket = TicketFactory()
    client = APIClient()

    assert client.get("/api/v1/tickets/").status_code == 401
    assert client.get(ticket_url(ticket)).status_code == 401
    assert client.post("/api/v1/tickets/", new_ticket_body(), format="json").status_code == 401


def test_an_agent_cannot_open_a_ticket_as_the_storefront():
    response = session_client(agent_user()).post(
        "/api/v1/tickets/", new_ticket_body(), format="json"
    )

    assert response.status_code == 403
    assert not Ticket.objects.exists()


# ==============================================================================================
# Agents
# ==============================================================================================


@pytest.fixture
def li(db):
    return agent_user(username="li")


@pytest.fixture
def queue(li):
    """Four tickets li may see (two teams) with different everything, and one she may not."""
    wang = agent_user(username="wang")
    presales = TeamFactory(name="Pre-sales", members=[li, wang])
    after_sales = TeamFactory(name="After-sales", members=[li])
    logistics = TeamFactory(name="Logistics")
    order = OrderFactory(number="SO-5555")
    ouyang = CustomerFactory(name="欧阳娜娜", phone="13900001111")
    tickets = {
        "open": TicketFactory(
            team=presales,
            status="open",
            priority="normal",
            kind="inquiry",
            channel="web",
            assignee=li,
            subject="发票问题",
            tags=["vip-care"],
            created_at=T0 + timedelta(minutes=1),
            next_due_at=NOW + timedelta(hours=2),
        ),
        "pending": TicketFactory(
            team=presales,
            status="pending",
            priority="high",
            kind="order_issue",
            channel="app",
            assignee=wang,
            customer=order.customer,
            order=order,
            created_at=T0 + timedelta(minutes=2),
            next_due_at=NOW + timedelta(minutes=20),
        ),
        "new": TicketFactory(
            team=presales,
            status="new",
            priority="urgent",
            kind="complaint",
            channel="phone",
            customer=ouyang,
            created_at=T0 + timedelta(minutes=3),
            next_due_at=NOW - timedelta(minutes=10),
        ),
        "solved": TicketFactory(
            team=after_sales,
            status="solved",
            priority="low",
            kind="after_sales",
            channel="email",
            assignee=li,
            created_at=T0 + timedelta(minutes=4),
            next_due_at=NOW + timedelta(minutes=10),
        ),
    }
    # Matches nearly every filter below: it must never show up for li.
    TicketFactory(
        team=logistics,
        status="new",
        priority="urgent",
        kind="complaint",
        channel="phone",
        customer=ouyang,
        subject="发票问题",
        tags=["vip-care"],
        created_at=T0,
        next_due_at=NOW - timedelta(minutes=30),
    )
    return tickets


QUEUE_FILTERS = [
    ({}, ["new", "solved", "pending", "open"]),  # by next_due_at
    ({"status": "pending"}, ["pending"]),
    ({"status": ["open", "pending"]}, ["pending", "open"]),
    ({"priority": "urgent"}, ["new"]),
    ({"priority": ["low", "high"]}, ["solved", "pending"]),
    ({"kind": "complaint"}, ["new"]),
    ({"channel": "phone"}, ["new"]),
    ({"channel": "email"}, ["solved"]),
    ({"team": "After-sales"}, ["solved"]),
    ({"team": "Logistics"}, []),
    ({"team": "No such team"}, []),
    ({"assignee": "me"}, ["solved", "open"]),
    ({"assignee": "none"}, ["new"]),
    ({"assignee": "wang"}, ["pending"]),
    ({"sla": "breached"}, ["new"]),
    ({"sla": "breaching_soon"}, ["pending"]),  # the solved ticket's due time no longer counts
    ({"tag": "vip-care"}, ["open"]),
    ({"tag": "VIP-Care"}, ["open"]),
    ({"q": "发票"}, ["open"]),
    ({"q": "SO-5555"}, ["pending"]),
    ({"q": "so-5555"}, ["pending"]),
    ({"q": "欧阳"}, ["new"]),
    ({"q": "13900001111"}, ["new"]),
    ({"ordering": "created_at"}, ["open", "pending", "new", "solved"]),
    ({"ordering": "-created_at"}, ["solved", "new", "pending", "open"]),
    ({"ordering": "priority"}, ["new", "pending", "open", "solved"]),
    ({"ordering": "-priority"}, ["solved", "open", "pending", "new"]),
    ({"ordering": "-next_due_at"}, ["open", "pending", "solved", "new"]),
    ({"view": "mine"}, ["open"]),
    ({"view": "unassigned"}, ["new"]),
    ({"status": "open", "assignee": "me", "tag": "vip-care", "q": "发票"}, ["open"]),
]


@pytest.mark.parametrize(
    ("params", "expected"), QUEUE_FILTERS, ids=[json.dumps(p) for p, _ in QUEUE_FILTERS]
)
def test_the_queue_filters(li, queue, params, expected):
    with time_machine.travel(NOW, tick=False):
        response = session_client(li).get("/api/v1/tickets/", params)

    assert numbers(response) == [queue[name].number for name in expected]


def test_searching_by_ticket_number_finds_that_ticket(li, queue):
    wanted = queue["pending"]

    for q in (wanted.number, wanted.number.lower(), str(int(wanted.number[2:]))):
        assert numbers(session_client(li).get("/api/v1/tickets/", {"q": q})) == [wanted.number]


@pytest.mark.parametrize(
    "params",
    [{"status": "bogus"}, {"priority": "asap"}, {"sla": "late"}, {"ordering": "subject"}],
)
def test_an_unknown_filter_value_is_400(li, queue, params):
    response = session_client(li).get("/api/v1/tickets/", params)

    assert response.status_code == 400, response.json()
    assert set(params) <= set(response.json()["errors"])


def test_the_queue_rows_show_what_an_agent_works_with(li, queue):
    response = session_client(li).get("/api/v1/tickets/", {"status": "pending"})

    [row] = response.json()["results"]
    assert row["team"] == "Pre-sales"
    assert row["assignee"] == "wang"
    assert row["order_number"] == "SO-5555"
    assert row["customer"]["phone"] != queue["pending"].customer.phone  # masked


def test_the_queue_pages_by_50_with_a_next_link(li):
    team = TeamFactory(members=[li])
    for i in range(60):
        TicketFactory(team=team, created_at=T0 + timedelta(minutes=i))
    client = session_client(li)

    first = client.get("/api/v1/tickets/", {"ordering": "created_at", "status": "open"})

    assert first.status_code == 200
    assert len(first.json()["results"]) == 50
    assert first.json()["previous"] is None
    next_url = first.json()["next"]
    assert "page=2" in next_url
    assert "ordering=created_at" in next_url
    second = client.get(next_url)
    assert len(second.json()["results"]) == 10
    assert second.json()["next"] is None
    seen = [r["number"] for r in first.json()["results"] + second.json()["results"]]
    assert len(set(seen)) == 60


def test_token_authentication_works_like_the_session(li, queue):
    token_response = APIClient().post(
        "/api/v1/auth/token/", {"username": "li", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert token_response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_response.json()['token']}")

    with time_machine.travel(NOW, tick=False):
        listed = numbers(client.get("/api/v1/tickets/"))
        patched = client.patch(ticket_url(queue["new"]), {"status": "open"}, format="json")

    assert listed == [queue[n].number for n in ("new", "solved", "pending", "open")]
    assert patched.status_code == 200
    assert patched.json()["status"] == "open"


def test_a_session_write_without_the_csrf_token_is_refused(li, queue):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(li)
    before = ticket_state(queue["new"])

    response = client.patch(ticket_url(queue["new"]), {"status": "open"}, format="json")

    assert response.status_code == 403
    assert ticket_state(queue["new"]) == before


def test_a_user_without_a_desk_role_is_403():
    response = session_client(UserFactory()).get("/api/v1/tickets/")

    assert response.status_code == 403


# --- Another team's ticket does not exist -----------------------------------------------------


@pytest.fixture
def foreign_ticket(db):
    other = TeamFactory(name="Logistics")
    ticket = TicketFactory(team=other, status="open")
    MessageFactory(ticket=ticket)
    return ticket


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", "", None),
        ("patch", "", {"status": "solved"}),
        ("patch", "", {"assignee": "me"}),
        ("post", "messages", {"body": "您好"}),
        ("post", "messages", {"body": "note", "internal": True}),
        ("post", "merge", "into-mine"),
    ],
)
def test_another_teams_ticket_is_404_and_untouched(li, foreign_ticket, method, action, body):
    mine = TicketFactory(team=TeamFactory(members=[li]), customer=foreign_ticket.customer)
    if body == "into-mine":
        body = {"into": mine.number}
    before = ticket_state(foreign_ticket), ticket_state(mine)

    response = getattr(session_client(li), method)(
        ticket_url(foreign_ticket, action), body, format="json"
    )

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    assert "Logistics" not in response.content.decode()
    assert (ticket_state(foreign_ticket), ticket_state(mine)) == before


def test_merging_into_another_teams_ticket_is_404(li, foreign_ticket):
    mine = TicketFactory(team=TeamFactory(members=[li]), customer=foreign_ticket.customer)
    before = ticket_state(foreign_ticket), ticket_state(mine)

    response = session_client(li).post(
        ticket_url(mine, "merge"), {"into": foreign_ticket.number}, format="json"
    )

    assert response.status_code == 404
    assert (ticket_state(foreign_ticket), ticket_state(mine)) == before


def test_a_supervisor_sees_the_teams_they_supervise_or_belong_to_and_no_other():
    boss = supervisor_user()
    supervised = TicketFactory(team=TeamFactory(supervisor=boss))
    member_of = TicketFactory(team=TeamFactory(members=[boss]))
    elsewhere = TicketFactory(team=TeamFactory())
    client = session_client(boss)

    assert sorted(numbers(client.get("/api/v1/tickets/"))) == sorted(
        [supervised.number, member_of.number]
    )
    assert client.get(ticket_url(supervised)).status_code == 200
    assert client.get(ticket_url(elsewhere)).status_code == 404


def test_an_admin_sees_every_team():
    tickets = [TicketFactory(team=TeamFactory()) for _ in range(3)]
    client = session_client(admin_user())

    assert sorted(numbers(client.get("/api/v1/tickets/"))) == sorted(t.number for t in tickets)
    for ticket in tickets:
        assert client.get(ticket_url(ticket)).status_code == 200


def test_an_agent_in_no_team_sees_nothing():
    TicketFactory()

    assert numbers(session_client(agent_user()).get("/api/v1/tickets/")) == []


# --- Writes by agents ----------------------------------------------------------------------------


@pytest.fixture
def my_ticket(li):
    return TicketFactory(team=TeamFactory(name="Pre-sales", members=[li]), status="new")


def test_an_agent_reply_through_the_api_is_the_first_response(li, my_ticket):
    with time_machine.travel(NOW, tick=False):
        response = session_client(li).post(
            ticket_url(my_ticket, "messages"), {"body": "您好，马上处理"}, format="json"
        )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["owner"]) == ("open", "li")
    assert datetime.fromisoformat(body["first_response_at"]) == NOW
    assert body["messages"][-1] == {
        "author": "agent",
        "author_name": li.get_full_name(),
        "internal": False,
        "automated": False,
        "body": "您好，马上处理",
        "channel": "web",
        "created_at": body["messages"][-1]["created_at"],
        "attachments": [],
        # Where it went (the messaging app's deliveries): nowhere, the storefront has no webhook.
        "delivery": [
            {
                "way": "webhook",
                "state": "not_sent",
                "at": None,
                "reason": "no webhook of the storefront takes messages",
            }
        ],
    }


def test_an_internal_note_through_the_api_is_no_response(li, my_ticket):
    response = session_client(li).post(
        ticket_url(my_ticket, "messages"), {"body": "先查物流", "internal": True}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["owner"], body["first_response_at"]) == ("new", None, None)
    assert body["messages"][-1]["internal"] is True


def test_reply_and_solve_in_one_request(li, my_ticket):
    response = session_client(li).post(
        ticket_url(my_ticket, "messages"), {"body": "已退款", "status": "solved"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["status"] == "solved"


def test_an_agent_reply_on_a_closed_ticket_is_409(li, my_ticket):
    Ticket.objects.filter(pk=my_ticket.pk).update(status="closed", solved_at=T0, closed_at=T0)
    before = ticket_state(my_ticket)

    response = session_client(li).post(
        ticket_url(my_ticket, "messages"), {"body": "您好"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "ticket_closed"
    assert ticket_state(my_ticket) == before


def test_patch_changes_priority_tags_and_team_each_with_an_event(li, my_ticket):
    supervisor = supervisor_user()
    my_ticket.team.supervisor = supervisor
    my_ticket.team.save()
    TeamFactory(name="Logistics")

    response = session_client(supervisor).patch(
        ticket_url(my_ticket),
        {"priority": "urgent", "tags": ["Refund", "vip"], "team": "Logistics"},
        format="json",
    )

    # Done, and shown once, although the ticket now sits in a team the supervisor does not see.
    assert response.status_code == 200, response.json()
    assert (response.json()["team"], response.json()["priority"]) == ("Logistics", "urgent")
    assert response.json()["tags"] == ["refund", "vip"]
    assert session_client(supervisor).get(ticket_url(my_ticket)).status_code == 404
    my_ticket.refresh_from_db()
    assert (my_ticket.priority, my_ticket.team.name) == ("urgent", "Logistics")
    assert sorted(my_ticket.tags.values_list("name", flat=True)) == ["refund", "vip"]
    assert sorted(my_ticket.events.values_list("type", flat=True)) == [
        "priority",
        "tags",
        "team",
    ]


def test_patch_with_an_unknown_team_or_user_is_400(li, my_ticket):
    client = session_client(li)
    before = ticket_state(my_ticket)

    assert client.patch(ticket_url(my_ticket), {"team": "Nope"}, format="json").status_code == 400
    assert (
        client.patch(ticket_url(my_ticket), {"assignee": "ghost"}, format="json").status_code == 400
    )
    assert ticket_state(my_ticket) == before


def test_merging_through_the_api_returns_the_target_with_the_messages(li):
    team = TeamFactory(members=[li])
    customer = CustomerFactory()
    target = TicketFactory(team=team, customer=customer, created_at=T0)
    source = TicketFactory(team=team, customer=customer, created_at=T0 + timedelta(minutes=5))
    MessageFactory(ticket=target, body="一", created_at=T0)
    MessageFactory(ticket=source, body="二", created_at=T0 + timedelta(minutes=5))

    response = session_client(li).post(
        ticket_url(source, "merge"), {"into": target.number}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["number"] == target.number
    assert [m["body"] for m in response.json()["messages"]] == ["一", "二"]
    source.refresh_from_db()
    assert (source.status, source.merged_into) == ("closed", target)


def test_merging_tickets_of_two_customers_through_the_api_is_409(li):
    team = TeamFactory(members=[li])
    source, target = TicketFactory(team=team), TicketFactory(team=team)
    MessageFactory(ticket=source)
    before = ticket_state(source), ticket_state(target)

    response = session_client(li).post(
        ticket_url(source, "merge"), {"into": target.number}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "merge_other_customer"
    assert (ticket_state(source), ticket_state(target)) == before
    assert Message.objects.filter(ticket=source).count() == 1


# --- The queue loads in a fixed number of queries -------------------------------------------------

# Session, user, the user's groups (the desk check; the team scope reuses them), the user's
# teams, the page of tickets with customer, order, team and assignee, and their tags.
QUEUE_QUERIES = 6


@pytest.mark.parametrize("count", [5, 60])
def test_the_queue_uses_the_same_queries_for_5_and_60_tickets(li, count, django_assert_num_queries):
    team = TeamFactory(members=[li])
    wang = agent_user()
    for i in range(count):
        order = OrderFactory() if i % 2 else None
        TicketFactory(
            team=team,
            assignee=(li, wang, None)[i % 3],
            order=order,
            customer=order.customer if order else CustomerFactory(),
            tags=["a", "b"] if i % 2 else ["c"],
            created_at=T0 + timedelta(minutes=i),
        )
    client = session_client(li)

    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get("/api/v1/tickets/")

    assert len(response.json()["results"]) == min(count, 50)


# --- OpenAPI ----------------------------------------------------------------------------------


@pytest.mark.django_db(databases=[])
def test_the_openapi_schema_still_generates_without_warnings():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--format",
            "openapi-json",
        ],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "csplatform.settings.test"},
        check=False,
    )

    assert result.returncode == 0, result.stderr[-4000:]
    schema = json.loads(result.stdout)
    paths = schema["paths"]
    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/{number}/",
        "/api/v1/tickets/{number}/messages/",
        "/api/v1/tickets/{number}/merge/",
    ):
        assert path in paths
    listed = {p["name"] for p in paths["/api/v1/tickets/"]["get"]["parameters"]}
    assert {"customer", "status", "priority", "kind", "channel", "team", "assignee"} <= listed
    assert {"sla", "tag", "q", "ordering", "page"} <= listed
    assert "patch" in paths["/api/v1/tickets/{number}/"]
