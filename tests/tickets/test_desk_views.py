"""The agent desk for tickets in the browser: the queue (/desk/) and the ticket page.

Django's test client drives the same URLs the htmx front end calls (``HX-Request`` header).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from csplatform.actors import Actor
from orders.choices import ExceptionType
from tests.factories import (
    CannedReplyFactory,
    CustomerFactory,
    MessageFactory,
    OrderExceptionFactory,
    OrderFactory,
    ShipmentFactory,
    TeamFactory,
    TicketFactory,
    UserFactory,
    admin_user,
    online_agent,
    supervisor_user,
    ticket_state,
)
from tickets import services
from tickets.choices import AuthorKind, Presence, TicketEventType, TicketStatus
from tickets.models import AgentProfile, Message, Ticket, TicketEvent
from tickets.templatetags.tickets_desk import countdown, person

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def other_team():
    return TeamFactory(name="Live-stream desk")


@pytest.fixture
def colleague(team):
    return online_agent(team, username="wang.fang")


@pytest.fixture
def supervisor(team):
    user = supervisor_user(username="zhao.lei")
    team.supervisor = user
    team.save(update_fields=["supervisor"])
    return user


def numbers(response) -> list[str]:
    return [t.number for t in response.context["rows"]]


def html(response) -> str:
    return response.content.decode()


# --- Who sees what ------------------------------------------------------------------------------


def test_the_desk_home_is_the_ticket_queue(agent_client, team, agent):
    ticket = TicketFactory(team=team, assignee=agent)

    response = agent_client.get("/desk/")

    assert reverse("desk:home") == "/desk/"
    assert response.status_code == 200
    assert numbers(response) == [ticket.number]
    nav = html(response).split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
    assert nav.index(">Queue<") < nav.index(">Orders<")


def test_a_user_without_a_desk_role_gets_404(client):
    client.force_login(UserFactory())

    assert client.get("/desk/").status_code == 404


def _post_urls(number: str) -> list[tuple[str, str, dict]]:
    return [
        ("get", f"/desk/tickets/{number}/", {}),
        ("post", f"/desk/tickets/{number}/reply/", {"body": "hello", "action": "reply"}),
        ("post", f"/desk/tickets/{number}/fields/", {"priority": "urgent"}),
        ("post", f"/desk/tickets/{number}/assign/", {"assignee": "me"}),
        ("get", f"/desk/tickets/{number}/canned/", {"canned": "1"}),
    ]


@pytest.mark.parametrize("index", range(5), ids=["page", "reply", "fields", "assign", "canned"])
def test_another_teams_ticket_is_404_for_an_agent_and_stays_untouched(
    agent_client, other_team, index
):
    ticket = TicketFactory(team=other_team, number="T-700001")
    CannedReplyFactory(pk=1)
    before = ticket_state(ticket)
    method, url, data = _post_urls(ticket.number)[index]

    response = getattr(agent_client, method)(url, data, **HTMX)

    assert response.status_code == 404
    assert "T-700001" not in html(response)
    assert ticket_state(ticket) == before


def test_an_unknown_ticket_number_is_404_like_another_teams(agent_client):
    assert agent_client.get("/desk/tickets/T-999999/").status_code == 404
    assert agent_client.get("/desk/tickets/T-%00/").status_code == 404


def test_an_admin_opens_a_ticket_of_any_team(client, other_team):
    ticket = TicketFactory(team=other_team, subject="Parcel never arrived")
    client.force_login(admin_user())

    response = client.get(f"/desk/tickets/{ticket.number}/")

    assert response.status_code == 200
    assert "Parcel never arrived" in html(response)


def test_a_supervisor_sees_the_teams_they_supervise_and_no_other(
    client, supervisor, team, other_team
):
    mine = TicketFactory(team=team)
    theirs = TicketFactory(team=other_team)
    client.force_login(supervisor)

    assert client.get(f"/desk/tickets/{mine.number}/").status_code == 200
    assert client.get(f"/desk/tickets/{theirs.number}/").status_code == 404
    assert numbers(client.get("/desk/", {"view": "all"})) == [mine.number]


def test_the_side_panel_lists_only_the_previous_tickets_the_agent_may_see(
    agent_client, team, other_team
):
    customer = CustomerFactory()
    visible = TicketFactory(team=team, customer=customer, subject="Size exchange")
    TicketFactory(team=other_team, customer=customer, subject="Secret VIP escalation")
    current = TicketFactory(team=team, customer=customer)

    page = html(agent_client.get(f"/desk/tickets/{current.number}/"))

    assert visible.number in page
    assert "Size exchange" in page
    assert "Secret VIP escalation" not in page


# --- Queue views, filters, search, pages ------------------------------------------------------


@pytest.fixture
def queue(team, other_team, agent, colleague):
    """One ticket per situation in the agent's team, and one in another team."""
    now = timezone.now()
    due = {"breached": now - timedelta(minutes=5), "soon": now + timedelta(minutes=10)}
    return {
        "mine": TicketFactory(team=team, assignee=agent, next_due_at=now + timedelta(hours=2)),
        "mine_solved": TicketFactory(team=team, assignee=agent, status=TicketStatus.SOLVED),
        "unassigned": TicketFactory(team=team, status=TicketStatus.NEW, next_due_at=due["soon"]),
        "colleague": TicketFactory(team=team, assignee=colleague, next_due_at=due["breached"]),
        "pending": TicketFactory(team=team, assignee=agent, status=TicketStatus.PENDING),
        "on_hold": TicketFactory(team=team, status=TicketStatus.ON_HOLD),
        "elsewhere": TicketFactory(team=other_team, next_due_at=due["soon"]),
    }


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", ["mine", "pending"]),
        ("unassigned", ["unassigned", "on_hold"]),
        ("team", ["colleague", "unassigned", "mine", "pending", "on_hold"]),
        ("breaching_soon", ["unassigned"]),
        ("breached", ["colleague"]),
        ("pending", ["pending", "on_hold"]),
    ],
)
def test_each_queue_view_selects_its_tickets_soonest_due_first(agent_client, queue, view, expected):
    response = agent_client.get("/desk/", {"view": view})

    assert numbers(response) == [queue[name].number for name in expected]


def test_an_agent_starts_on_their_own_tickets_and_has_no_all_view(agent_client, queue):
    default = agent_client.get("/desk/")
    asked_for_all = agent_client.get("/desk/", {"view": "all"})

    assert numbers(default) == [queue["mine"].number, queue["pending"].number]
    assert numbers(asked_for_all) == numbers(default)
    assert 'value="all"' not in html(default)


def test_the_all_view_of_a_supervisor_holds_every_status_of_their_teams(client, supervisor, queue):
    client.force_login(supervisor)

    response = client.get("/desk/", {"view": "all"})

    expected = {t.number for name, t in queue.items() if name != "elsewhere"}
    assert set(numbers(response)) == expected
    assert 'value="all"' in html(response)


@pytest.fixture
def searchable(team, agent, colleague):
    order = OrderFactory(number="SO-88001")
    return {
        "urgent_phone": TicketFactory(
            team=team, priority="urgent", channel="phone", customer__name="王芳"
        ),
        "complaint": TicketFactory(
            team=team, kind="complaint", assignee=agent, tags=["vip-issue"], subject="发票开错了"
        ),
        "order": TicketFactory(
            team=team,
            assignee=colleague,
            order=order,
            customer=order.customer,
            status=TicketStatus.PENDING,
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "pending"}, ["order"]),
        ({"priority": "urgent"}, ["urgent_phone"]),
        ({"kind": "complaint"}, ["complaint"]),
        ({"channel": "phone"}, ["urgent_phone"]),
        ({"tag": "VIP-issue"}, ["complaint"]),
        ({"assignee": "me"}, ["complaint"]),
        ({"assignee": "none"}, ["urgent_phone"]),
        ({"assignee": "wang.fang"}, ["order"]),
        ({"q": "发票"}, ["complaint"]),
        ({"q": "SO-88001"}, ["order"]),
        ({"q": "王"}, ["urgent_phone"]),
        ({"status": "not-a-status"}, ["urgent_phone", "complaint", "order"]),
        ({"q": "发票\x00"}, ["complaint"]),
    ],
)
def test_the_queue_filters_and_searches(agent_client, searchable, params, expected):
    response = agent_client.get("/desk/", {"view": "team", **params})

    assert response.status_code == 200
    assert numbers(response) == [searchable[name].number for name in expected]


def test_the_search_finds_a_ticket_by_number_and_the_customers_phone(agent_client, team):
    ticket = TicketFactory(team=team, customer__phone="13912345678")
    TicketFactory(team=team)
    digits = str(int(ticket.number.removeprefix("T-")))

    for text in (ticket.number, ticket.number.lower(), digits, "13912345678"):
        assert numbers(agent_client.get("/desk/", {"view": "team", "q": text})) == [ticket.number]


def test_the_queue_shows_50_rows_a_page_and_knows_a_next_page_without_counting(agent_client, team):
    now = timezone.now()
    made = [
        TicketFactory(team=team, next_due_at=now + timedelta(minutes=40 + i)) for i in range(51)
    ]

    with CaptureQueriesContext(connection) as queries:
        first = agent_client.get("/desk/", {"view": "team"})
    second = agent_client.get("/desk/", {"view": "team", "page": 2})

    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]

    assert numbers(first) == [t.number for t in made[:50]]
    assert first.context["has_next"] is True
    assert 'rel="next"' in html(first)
    assert numbers(second) == [made[50].number]
    assert second.context["has_next"] is False
    assert 'rel="prev"' in html(second)


def test_the_rows_link_to_the_ticket_with_the_queue_they_came_from(agent_client, team):
    ticket = TicketFactory(team=team)

    page = html(agent_client.get("/desk/", {"view": "team", "priority": "normal"}))

    assert f"/desk/tickets/{ticket.number}/?queue=view%3Dteam%26priority%3Dnormal" in page


def test_an_htmx_request_gets_only_the_rows_which_poll_every_30s_with_the_same_filters(
    agent_client, team
):
    TicketFactory(team=team, subject="Where is my parcel")

    response = agent_client.get("/desk/", {"view": "team", "kind": "inquiry"}, **HTMX)

    page = html(response)
    assert "<html" not in page
    assert "Where is my parcel" in page
    assert 'hx-trigger="every 30s, queue-refresh from:body"' in page
    assert 'hx-get="/desk/?view=team&amp;kind=inquiry&amp;page=1"' in page
    assert "HX-Request" in response["Vary"]


def test_each_row_carries_its_sla_countdown_badge(agent_client, team, time_machine):
    now = timezone.now().replace(microsecond=0)
    time_machine.move_to(now, tick=False)
    TicketFactory(team=team, subject="late", next_due_at=now - timedelta(minutes=3))
    TicketFactory(team=team, subject="soon", next_due_at=now + timedelta(minutes=12))
    TicketFactory(team=team, subject="fine", next_due_at=now + timedelta(hours=2, minutes=5))
    TicketFactory(team=team, subject="no clock", next_due_at=None)

    page = html(agent_client.get("/desk/", {"view": "team"}))

    due = (now + timedelta(minutes=12)).isoformat()
    warn = (now - timedelta(minutes=18)).isoformat()
    assert f'class="sla sla-breaching_soon" data-due="{due}" data-warn="{warn}"' in page
    assert '<span class="sla sla-breached"' in page
    for text in (">-3m</span>", ">12m</span>", ">2h 05m</span>", '<span class="sla sla-none">'):
        assert text in page


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (timedelta(minutes=12, seconds=59), "12m"),
        (timedelta(seconds=0), "0m"),
        (timedelta(seconds=-20), "-1m"),
        (timedelta(minutes=-3), "-3m"),
        (timedelta(hours=2, minutes=5), "2h 05m"),
        (timedelta(hours=-2, minutes=-5), "-2h 05m"),
        (timedelta(days=3, hours=4, minutes=30), "3d 04h"),
    ],
)
def test_the_countdown_reads_in_minutes_hours_and_days(left, text):
    assert countdown(left) == text


@pytest.mark.parametrize(
    ("first", "last", "username", "shown"),
    [("娜", "李", "li.na", "李娜"), ("Wei", "Zhang", "wz", "Wei Zhang"), ("", "", "ops1", "ops1")],
)
def test_people_are_named_as_colleagues_read_the_name(first, last, username, shown):
    assert person(UserFactory.build(first_name=first, last_name=last, username=username)) == shown


# --- The ticket page --------------------------------------------------------------------------


def test_the_ticket_page_shows_conversation_customer_order_and_timeline(agent_client, team, agent):
    customer = CustomerFactory(name="王芳", phone="13912345678", tier="vip")
    order = OrderFactory(number="SO-77001", customer=customer, status="shipped")
    ShipmentFactory(order=order, carrier="顺丰速运", tracking_number="SF1234567890")
    OrderExceptionFactory(order=order, type=ExceptionType.LOGISTICS_DELAYED)
    OrderFactory(customer=customer)
    ticket = services.ticket_create(
        customer=customer,
        order=order,
        kind="order_issue",
        channel="chat",
        subject="快递三天没动了",
        body="请帮我查一下",
        actor=Actor.system("storefront"),
    )
    Ticket.objects.filter(pk=ticket.pk).update(team=team)
    services.ticket_reply(ticket=ticket, user=agent, body="正在为您查询", internal=False)
    services.ticket_reply(ticket=ticket, user=agent, body="联系顺丰核实", internal=True)

    page = html(agent_client.get(f"/desk/tickets/{ticket.number}/"))

    assert page.count('class="msg ') == 3
    assert '<article class="msg msg-note">' in page
    assert "Internal note" in page
    assert '<dd class="mono" id="customer-phone">139****5678</dd>' in page
    assert "13912345678" not in page
    assert '<dd id="lifetime-orders">2</dd>' in page
    assert 'href="/desk/orders/SO-77001/"' in page
    assert "SF1234567890" in page
    assert "Logistics delayed" in page
    timeline = page.split('id="ticket-timeline"', 1)[1]
    assert "<strong>Public reply</strong>" in timeline
    assert "<strong>Status changed</strong> New → Open" in timeline  # labels, not stored codes


def test_the_status_select_offers_only_the_allowed_transitions(agent_client, team):
    ticket = TicketFactory(team=team, status=TicketStatus.SOLVED)

    page = html(agent_client.get(f"/desk/tickets/{ticket.number}/"))

    select = page.split('id="field-status"', 1)[1].split("</select>", 1)[0]
    assert [
        v for v in ("new", "open", "pending", "on_hold", "solved", "closed") if f'"{v}"' in select
    ] == ["open", "solved", "closed"]


def test_a_closed_ticket_is_read_only_on_its_page(agent_client, team):
    ticket = TicketFactory(team=team, status=TicketStatus.CLOSED)

    page = html(agent_client.get(f"/desk/tickets/{ticket.number}/"))

    assert "This ticket is closed." in page
    assert 'id="reply-body"' not in page
    assert 'id="field-status"' not in page
    assert ">Claim</button>" not in page


def _reply(client, ticket, action, body="您好，已为您处理。", **extra):
    return client.post(
        f"/desk/tickets/{ticket.number}/reply/", {"body": body, "action": action}, **extra
    )


def test_a_reply_goes_to_the_customer_and_the_page_parts_are_swapped_in(agent_client, team, agent):
    ticket = TicketFactory(team=team, status=TicketStatus.NEW)

    response = _reply(agent_client, ticket, "reply", **HTMX)

    assert response.status_code == 200
    message = Message.objects.get(ticket=ticket)
    assert (message.internal, message.author_user, message.body) == (
        False,
        agent,
        "您好，已为您处理。",
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_response_at is not None
    page = html(response)
    swapped = re.findall(r'<\w+ id="([\w-]+)"[^>]*hx-swap-oob="true"', page)
    assert swapped == [
        "ticket-header",
        "conversation",
        "reply-box",
        "ticket-fields",
        "ticket-timeline",
    ]
    assert "您好，已为您处理。" in page.split('id="conversation"', 1)[1].split("</section>", 1)[0]
    assert "></textarea>" in page  # the box is empty again


@pytest.mark.parametrize(
    ("action", "status", "internal"),
    [
        ("reply_pending", TicketStatus.PENDING, False),
        ("reply_solve", TicketStatus.SOLVED, False),
        ("note", TicketStatus.OPEN, True),
    ],
)
def test_reply_and_set_pending_reply_and_solve_and_note(
    agent_client, team, action, status, internal
):
    ticket = TicketFactory(team=team, status=TicketStatus.OPEN)

    response = _reply(agent_client, ticket, action, **HTMX)

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == status
    assert Message.objects.get(ticket=ticket).internal is internal


def test_a_note_is_shown_as_an_internal_note_and_does_not_count_as_a_response(agent_client, team):
    ticket = TicketFactory(team=team, status=TicketStatus.NEW)

    page = html(_reply(agent_client, ticket, "note", body="客户情绪激动，注意措辞", **HTMX))

    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.status == TicketStatus.NEW
    note = page.split('<article class="msg msg-note">', 1)[1].split("</article>", 1)[0]
    assert "Internal note" in note
    assert "客户情绪激动" in note


def test_without_javascript_a_reply_redirects_back_to_the_ticket(agent_client, team):
    ticket = TicketFactory(team=team)

    response = _reply(agent_client, ticket, "reply")

    assert response.status_code == 302
    assert response["Location"] == f"/desk/tickets/{ticket.number}/"
    assert Message.objects.filter(ticket=ticket).count() == 1


def test_an_empty_reply_is_refused_inline_and_writes_nothing(agent_client, team):
    ticket = TicketFactory(team=team)
    before = ticket_state(ticket)

    response = _reply(agent_client, ticket, "reply", body="   ", **HTMX)

    assert response.status_code == 422
    assert 'id="reply-error"' in html(response)
    assert ticket_state(ticket) == before


def test_a_reply_to_a_closed_ticket_is_refused_inline_keeping_the_draft(agent_client, team):
    ticket = TicketFactory(team=team, status=TicketStatus.CLOSED)
    before = ticket_state(ticket)

    response = _reply(agent_client, ticket, "reply", body="我的草稿", **HTMX)

    assert response.status_code == 409
    page = html(response)
    assert "The ticket is closed." in page
    assert ticket_state(ticket) == before


def test_a_refused_transition_shows_an_error_and_changes_nothing(agent_client, team):
    ticket = TicketFactory(team=team, status=TicketStatus.SOLVED, tags=["refund"])
    before = ticket_state(ticket)

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/fields/",
        {"status": "pending", "priority": "urgent", "tags": "refund, vip"},
        **HTMX,
    )

    assert response.status_code == 409
    error = html(response).split('id="fields-error">', 1)[1].split("</p>", 1)[0]
    assert error == ("A ticket that is “Solved” cannot become “Pending”. Possible: Open, Closed.")
    assert ticket_state(ticket) == before


def test_a_refused_transition_without_javascript_comes_back_as_a_message(agent_client, team):
    ticket = TicketFactory(team=team, status=TicketStatus.SOLVED)

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/fields/", {"status": "pending"}, follow=True
    )

    assert "cannot become" in html(response)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SOLVED


def test_the_fields_change_only_what_the_agent_changed(agent_client, team):
    ticket = TicketFactory(team=team, priority="high")  # a colleague raised it meanwhile

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/fields/",
        {
            "status": "open",
            "was_status": "open",
            "priority": "normal",
            "was_priority": "normal",
            "kind": "after_sales",
            "was_kind": "inquiry",
            "tags": "质量问题, 换货",
            "was_tags": "",
        },
        **HTMX,
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.kind) == ("high", "after_sales")
    assert sorted(ticket.tags.values_list("name", flat=True)) == ["换货", "质量问题"]
    types = set(TicketEvent.objects.filter(ticket=ticket).values_list("type", flat=True))
    assert types == {TicketEventType.KIND, TicketEventType.TAGS}


def test_an_agent_claims_an_unassigned_ticket(agent_client, team, agent):
    ticket = TicketFactory(team=team)
    assert ">Claim</button>" in html(agent_client.get(f"/desk/tickets/{ticket.number}/"))

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/assign/", {"assignee": "me"}, **HTMX
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert ">Claim</button>" not in html(response)


def test_an_agent_may_not_give_a_ticket_to_a_colleague(agent_client, team, agent, colleague):
    ticket = TicketFactory(team=team, assignee=agent)
    before = ticket_state(ticket)

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/assign/", {"assignee": "wang.fang"}, **HTMX
    )

    assert response.status_code == 403
    assert "Only a supervisor may assign a ticket to someone else." in html(response)
    assert ticket_state(ticket) == before


def test_a_supervisor_reassigns_a_ticket_to_a_team_member(
    client, supervisor, team, agent, colleague
):
    ticket = TicketFactory(team=team, assignee=agent)
    client.force_login(supervisor)
    page = html(client.get(f"/desk/tickets/{ticket.number}/"))
    select = page.split('id="reassign-to"', 1)[1].split("</select>", 1)[0]
    assert 'value="li.na" selected' in select
    assert 'value="wang.fang"' in select

    response = client.post(
        f"/desk/tickets/{ticket.number}/assign/", {"assignee": "wang.fang"}, **HTMX
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.assignee == colleague
    event = TicketEvent.objects.get(ticket=ticket, type=TicketEventType.ASSIGNEE)
    assert (event.old_value, event.new_value, event.actor_user) == (
        "li.na",
        "wang.fang",
        supervisor,
    )


def test_moving_a_ticket_out_of_the_agents_teams_sends_them_back_to_the_queue(
    agent_client, team, other_team, agent
):
    ticket = TicketFactory(team=team, assignee=agent)

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/fields/", {"team": other_team.pk}, **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == "/desk/"
    ticket.refresh_from_db()
    assert ticket.team == other_team


# --- Canned replies ---------------------------------------------------------------------------


def test_a_canned_reply_is_filled_in_and_added_to_what_is_typed(agent_client, team, agent):
    order = OrderFactory(number="SO-66001", customer__name="李娜")
    ticket = TicketFactory(team=team, order=order, customer=order.customer)
    canned = CannedReplyFactory(
        title="已发货", body="您好 {{ customer.name }}，订单 {{ order.number }} 已发出。", team=team
    )

    response = agent_client.get(
        f"/desk/tickets/{ticket.number}/canned/",
        {"canned": canned.pk, "body": "亲，"},
        **HTMX,
    )

    assert response.status_code == 200
    assert html(response).endswith(">亲，\n\n您好 李娜，订单 SO-66001 已发出。</textarea>\n")


@pytest.mark.parametrize("which", ["other_team", "inactive"])
def test_a_canned_reply_of_another_team_or_inactive_is_not_offered(
    agent_client, team, other_team, which
):
    ticket = TicketFactory(team=team)
    offered = CannedReplyFactory(title="全局问候")
    hidden = CannedReplyFactory(
        title="别组话术",
        **({"team": other_team} if which == "other_team" else {"active": False}),
    )

    page = html(agent_client.get(f"/desk/tickets/{ticket.number}/"))
    url = f"/desk/tickets/{ticket.number}/canned/"

    assert "全局问候" in page
    assert "别组话术" not in page
    assert agent_client.get(url, {"canned": offered.pk}).status_code == 200
    assert agent_client.get(url, {"canned": hidden.pk}).status_code == 404


# --- Next ticket ------------------------------------------------------------------------------


def test_next_opens_the_following_ticket_of_the_queue_the_agent_came_from(agent_client, queue):
    url = f"/desk/tickets/{queue['colleague'].number}/next/"

    response = agent_client.get(url, {"queue": "view=team&ordering=-next_due_at"})

    # Latest due first: mine (+2 h), unassigned (+10 min), colleague (-5 min), then no due time.
    expected = queue["pending"].number
    queue_param = "queue=view%3Dteam%26ordering%3D-next_due_at"
    assert response["Location"] == f"/desk/tickets/{expected}/?{queue_param}"


def test_next_after_a_ticket_that_left_the_queue_is_the_queues_top(agent_client, queue):
    url = f"/desk/tickets/{queue['mine_solved'].number}/next/"

    response = agent_client.get(url, {"queue": "view=mine"})

    assert response["Location"] == f"/desk/tickets/{queue['mine'].number}/?queue=view%3Dmine"


def test_the_queue_a_ticket_came_from_is_rebuilt_from_known_filters_only(agent_client, team):
    ticket = TicketFactory(team=team)

    page = html(
        agent_client.get(
            f"/desk/tickets/{ticket.number}/",
            {"queue": "view=team&priority=high&evil=%0D%0ASet-Cookie:x&ordering=bogus"},
        )
    )

    canonical = "view=team&amp;priority=high"
    assert f'href="/desk/?{canonical}">' in page  # back to the queue
    assert 'next/?queue=view%3Dteam%26priority%3Dhigh" data-hotkey="n"' in page
    assert page.count(f'name="queue" value="{canonical}"') == 3  # reply, fields, claim forms


def test_next_after_the_last_ticket_goes_back_to_the_queue(agent_client, queue):
    url = f"/desk/tickets/{queue['pending'].number}/next/"

    response = agent_client.get(url, {"queue": "view=mine"}, follow=True)

    assert response.redirect_chain == [("/desk/?view=mine", 302)]
    assert "No more tickets in this queue." in html(response)


# --- Bulk changes -----------------------------------------------------------------------------


def test_a_bulk_status_change_applies_where_allowed_and_reports_each_refusal(
    agent_client, team, other_team, agent
):
    first = TicketFactory(team=team, assignee=agent)
    second = TicketFactory(team=team)
    solved = TicketFactory(team=team, status=TicketStatus.SOLVED)
    foreign = TicketFactory(team=other_team)
    untouched = {t.number: ticket_state(t) for t in (solved, foreign)}

    response = agent_client.post(
        "/desk/tickets/bulk/",
        {
            "numbers": [first.number, solved.number, second.number, foreign.number],
            "status": "pending",
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"queue-refresh": {}}
    page = html(response)
    assert f"2 tickets updated: {first.number}, {second.number}" in page
    assert f"<strong>{solved.number}</strong>: A ticket that is “Solved” cannot become" in page
    assert f"<strong>{foreign.number}</strong>: Ticket {foreign.number} was not found." in page
    assert set(Ticket.objects.filter(status="pending").values_list("number", flat=True)) == {
        first.number,
        second.number,
    }
    assert {t.number: ticket_state(t) for t in (solved, foreign)} == untouched


def test_without_javascript_a_bulk_change_redirects_back_with_its_outcome(agent_client, team):
    ticket = TicketFactory(team=team)
    solved = TicketFactory(team=team, status=TicketStatus.SOLVED)

    response = agent_client.post(
        "/desk/tickets/bulk/",
        {
            "numbers": [ticket.number, solved.number],
            "status": "on_hold",
            "next": "/desk/?view=team",
        },
        follow=True,
    )

    assert response.redirect_chain == [("/desk/?view=team", 302)]
    page = html(response)
    assert f"Updated: {ticket.number}" in page
    assert f"{solved.number}: A ticket that is “Solved” cannot become “On hold”." in page
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ON_HOLD


def test_a_supervisor_bulk_assigns_tickets_to_an_agent(client, supervisor, team, colleague):
    tickets = TicketFactory.create_batch(3, team=team)
    client.force_login(supervisor)

    response = client.post(
        "/desk/tickets/bulk/",
        {"numbers": [t.number for t in tickets], "assignee": "wang.fang", "priority": "high"},
        **HTMX,
    )

    assert response.status_code == 200
    assert list(Ticket.objects.values_list("assignee", "priority").distinct()) == [
        (colleague.pk, "high")
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"status": "pending"}, "Select at least one ticket."),
        ({"numbers": ["T-1"]}, "Choose an assignee, a status or a priority to set."),
        ({"numbers": ["T-1"], "assignee": "nobody"}, "No active user with this username."),
    ],
)
def test_a_bulk_request_without_tickets_or_without_a_change_is_refused(agent_client, data, error):
    response = agent_client.post("/desk/tickets/bulk/", data, **HTMX)

    assert response.status_code == 422
    assert error in html(response)
    assert "HX-Trigger" not in response


def test_the_bulk_service_reports_one_result_per_ticket_in_order(team, agent):
    ok = TicketFactory(team=team)
    closed = TicketFactory(team=team, status=TicketStatus.CLOSED)

    results = services.tickets_bulk_update(
        numbers=[closed.number, ok.number, ok.number, "T-404"], by_user=agent, priority="urgent"
    )

    assert [(r.number, r.succeeded) for r in results] == [
        (closed.number, False),
        (ok.number, True),
        ("T-404", False),
    ]
    assert results[0].error.detail == "The ticket is closed."
    assert Ticket.objects.get(pk=ok.pk).priority == "urgent"
    assert Ticket.objects.get(pk=closed.pk).priority == "normal"


# --- Presence ---------------------------------------------------------------------------------


def test_the_presence_switch_shows_and_sets_the_agents_presence(agent_client, agent):
    page = html(agent_client.get("/desk/"))
    assert 'class="presence p-online"' in page

    response = agent_client.post("/desk/presence/", {"presence": "away"}, **HTMX)

    assert response.status_code == 200
    assert 'class="presence p-away"' in html(response)
    assert '<option value="away" selected>' in html(response)
    profile = AgentProfile.objects.get(user=agent)
    assert profile.presence == Presence.AWAY
    assert profile.presence_changed_at is not None


def test_a_desk_user_without_a_profile_starts_offline_and_gets_one(client, supervisor):
    client.force_login(supervisor)
    assert 'class="presence p-offline"' in html(client.get("/desk/"))

    response = client.post("/desk/presence/", {"presence": "online", "next": "/desk/orders/"})

    assert response["Location"] == "/desk/orders/"
    assert AgentProfile.objects.get(user=supervisor).presence == Presence.ONLINE


def test_an_unknown_presence_is_refused(agent_client, agent):
    response = agent_client.post("/desk/presence/", {"presence": "asleep"}, **HTMX)

    assert response.status_code == 422
    assert AgentProfile.objects.get(user=agent).presence == Presence.ONLINE


# --- Queries ----------------------------------------------------------------------------------

# Queue page: session, user, the user's groups (the role is read once a request); the user's
# teams; the page of tickets with customer, assignee, team and order; their tags; the user's
# teams again and their members for the assignee filter; the presence switch's profile.
QUEUE_PAGE_QUERIES = 9
# Ticket page of the assignee: session, user, groups; teams; the ticket with customer, order,
# team, assignee, owner; its tags, messages (with authors), their attachments, events (with
# actors), SLA clocks, the order's shipments and exceptions; every team (the assignee may move
# it); teams again for the previous tickets, the lifetime orders count, the previous tickets;
# the canned replies; the presence switch's profile; the return panel (the ticket's return,
# and without one the order's lines and the units other requests hold, for "start a return");
# where the public messages went: their e-mails, their webhook deliveries (tickets.deliveries).
TICKET_PAGE_QUERIES = 23


@pytest.mark.parametrize("count", [5, 50])
def test_the_queue_page_uses_the_same_queries_for_5_and_50_tickets(
    agent_client, team, agent, count, django_assert_num_queries
):
    for i in range(count):
        order = OrderFactory()
        TicketFactory(
            team=team,
            assignee=agent if i % 2 else None,
            order=order,
            customer=order.customer,
            tags=["物流", f"t{i % 3}"],
            next_due_at=timezone.now() + timedelta(minutes=i),
        )

    with django_assert_num_queries(QUEUE_PAGE_QUERIES):
        response = agent_client.get("/desk/", {"view": "team"})

    assert len(response.context["rows"]) == count


def _conversation(ticket, agent, size: int) -> None:
    now = timezone.now()
    for i in range(size):
        MessageFactory(
            ticket=ticket,
            author_kind=AuthorKind.AGENT if i % 2 else AuthorKind.CUSTOMER,
            author_user=agent if i % 2 else None,
            internal=i % 4 == 3,
            created_at=now + timedelta(minutes=i),
        )
        TicketEvent.objects.create(
            ticket=ticket,
            type=TicketEventType.PRIORITY if i % 2 else TicketEventType.STATUS,
            old_value="normal" if i % 2 else "new",
            new_value="high" if i % 2 else "open",
            actor_kind="user",
            actor_user=agent,
            actor_label=agent.username,
            at=now + timedelta(minutes=i),
        )


@pytest.mark.parametrize("size", [2, 30])
def test_the_ticket_page_uses_the_same_queries_for_2_and_30_messages_and_events(
    agent_client, team, agent, size, django_assert_num_queries
):
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, status="shipped")
    for exception_type in list(ExceptionType)[: 3 if size > 2 else 1]:
        ShipmentFactory(order=order)
        OrderExceptionFactory(order=order, type=exception_type)
        # A resolved one names who resolved it: loaded with the exceptions, not one by one.
        OrderExceptionFactory(
            order=order,
            type=exception_type,
            resolved_at=timezone.now(),
            outcome="reshipped",
            resolved_by=UserFactory(),
        )
        TicketFactory(team=team, customer=customer)
        CannedReplyFactory(team=team)
    ticket = TicketFactory(
        team=team, assignee=agent, customer=customer, order=order, tags=["a", "b"]
    )
    _conversation(ticket, agent, size)

    with django_assert_num_queries(TICKET_PAGE_QUERIES):
        response = agent_client.get(f"/desk/tickets/{ticket.number}/")

    assert response.content.decode().count('class="msg ') == size


def test_the_ticket_panel_shows_its_service_level_clocks(agent_client, agent):
    team = agent.teams.get()
    ticket = services.ticket_create(
        customer=CustomerFactory(),
        kind="inquiry",
        channel="web",
        subject="尺码咨询",
        body="这件衣服偏大吗？",
        actor=Actor.system("storefront"),
    )
    Ticket.objects.filter(pk=ticket.pk).update(team=team)
    assert ticket.sla_clocks.exists(), "the default SLA policy starts the clocks"

    response = agent_client.post(
        f"/desk/tickets/{ticket.number}/reply/", {"body": "不偏大", "action": "reply"}, **HTMX
    )

    clocks = html(response).split('id="sla-clocks"', 1)[1].split("</ul>", 1)[0]
    first_response = clocks.split("First response", 1)[1].split("</li>", 1)[0]
    assert '<span class="clock clock-met">Met</span>' in first_response
    assert clocks.index("First response") < clocks.index("Handling") < clocks.index("Closure")
