"""``seed_demo --tickets N``: teams, agents and a year of tickets the engine agrees with."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction

from csplatform.actors import Actor
from csplatform.roles import AGENT, DEMO_GROUP, SUPERVISOR
from demo import tickets as demo
from orders.models import Customer
from surveys.models import SurveyInvitation, SurveyResponse
from tests.csplatform.test_seed_demo import delete_aftercare_rows
from tests.seeding import DEMO_NOW, seed_demo_at
from tickets.choices import OPEN_STATUSES, AuthorKind, TicketEventType, TicketStatus
from tickets.models import (
    AgentProfile,
    Message,
    SlaClock,
    SlaEvent,
    Team,
    Ticket,
    TicketEvent,
)
from tickets.reference_data import CASE_KINDS
from tickets.selectors import ticket_queue
from tickets.services import ticket_create
from tickets.sla.clocks import ticket_clocks_sync
from tickets.sla.sweeper import sla_sweep

pytestmark = pytest.mark.django_db

S = TicketStatus
ORDERS = 150
TICKETS = 120
NOW = DEMO_NOW
User = get_user_model()


def seed(tickets: int = TICKETS, orders: int = ORDERS, **options) -> str:
    return seed_demo_at(orders=orders, tickets=tickets, **options)


def row_counts() -> dict[str, int]:
    models = (Ticket, Message, TicketEvent, SlaClock, SlaEvent, Ticket.tags.through, Team)
    return {model.__name__: model.objects.count() for model in (*models, User, AgentProfile)}


def ticket_contents() -> dict[str, tuple]:
    return {
        t.number: (
            t.subject,
            t.kind,
            t.channel,
            t.status,
            t.priority,
            t.customer.external_id,
            t.order.number if t.order else None,
            t.created_at,
            t.next_due_at,
        )
        for t in Ticket.objects.select_related("customer", "order")
    }


# --- People and teams -------------------------------------------------------------------------


def test_the_demo_agent_works_in_two_teams_and_the_supervisor_runs_every_team():
    seed()

    agent = User.objects.get(username=AGENT)
    supervisor = User.objects.get(username=SUPERVISOR)
    assert set(agent.teams.values_list("name", flat=True)) == set(demo.AGENT_TEAMS)
    every_team = {name for name, _gloss, _agents in demo.TEAMS}
    assert set(Team.objects.values_list("name", flat=True)) == every_team
    assert set(supervisor.teams.values_list("name", flat=True)) == every_team
    assert set(supervisor.supervised_teams.values_list("name", flat=True)) == every_team


def test_forty_more_agents_with_profiles_spread_over_the_teams():
    seed()

    agents = User.objects.filter(username__startswith="kf")
    assert agents.count() == demo.AGENT_COUNT
    assert set(agents.values_list("groups__name", flat=True)) == {AGENT, DEMO_GROUP}
    assert not agents.filter(teams__isnull=True).exists()
    profiles = AgentProfile.objects.filter(user__in=agents)
    assert profiles.count() == demo.AGENT_COUNT
    assert set(profiles.values_list("capacity", flat=True)) == {demo.AGENT_CAPACITY}
    presences = Counter(profiles.values_list("presence", flat=True))
    assert set(presences) == {"online", "away", "offline"}
    for team in Team.objects.all():
        assert team.members.filter(username__startswith="kf").count() >= 5, team.name


def test_an_existing_account_named_like_an_agent_is_not_turned_into_a_demo_login():
    real = User.objects.create_user("kf07", password="a-real-secret")

    output = seed()

    real.refresh_from_db()
    assert not real.groups.exists()
    assert not real.teams.exists()
    assert real.check_password("a-real-secret")
    assert "'kf07' exists and is not a demo account" in output


# --- Idempotency ------------------------------------------------------------------------------


def test_tickets_are_numbered_from_t_000001_with_the_number_made_of_the_id():
    seed()

    rows = list(Ticket.objects.order_by("pk").values_list("pk", "number"))
    assert rows == [(k, f"T-{k:06d}") for k in range(1, TICKETS + 1)]


def test_running_twice_creates_nothing_new():
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "tickets: created nothing" in output


def test_a_larger_count_adds_only_the_missing_tickets():
    seed(tickets=70)
    first = dict(Ticket.objects.values_list("number", "updated_at"))

    seed()

    assert Ticket.objects.count() == TICKETS
    kept = dict(Ticket.objects.filter(number__in=first).values_list("number", "updated_at"))
    assert kept == first


def test_a_ticket_is_the_same_whether_seeded_in_one_run_or_in_steps():
    seed(tickets=70)
    seed()
    in_steps = ticket_contents()
    delete_aftercare_rows()
    Ticket.objects.all().delete()

    seed()

    assert ticket_contents() == in_steps


def test_only_the_missing_numbers_are_filled_in():
    seed()
    # Their surveys first (protected foreign keys).
    numbers = ["T-000005", "T-000100"]
    SurveyResponse.objects.filter(ticket__number__in=numbers).delete()
    SurveyInvitation.objects.filter(ticket__number__in=numbers).delete()
    Ticket.objects.filter(number__in=["T-000005", "T-000100"]).delete()

    output = seed()

    assert "created 2 tickets" in output
    assert Ticket.objects.count() == TICKETS


def test_the_next_ticket_opened_through_the_service_takes_the_next_free_number():
    seed()
    customer = Customer.objects.first()

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        ticket = ticket_create(
            customer=customer,
            kind="inquiry",
            channel="app",
            subject="还有别的颜色吗？",
            body="这款还有别的颜色吗？",
            actor=Actor(kind="api_key", label="storefront"),
        )

    assert ticket.pk > TICKETS
    assert ticket.number == f"T-{ticket.pk:06d}"


def test_without_customers_no_ticket_is_written():
    output = seed(orders=0)

    assert not Ticket.objects.exists()
    assert "No demo customers" in output


@pytest.mark.django_db(transaction=True)
def test_seeding_outside_a_transaction_commits_every_batch(monkeypatch):
    # Outside a transaction PostgreSQL commits each batch while the next one is built.
    monkeypatch.setattr(demo, "BATCH_TICKETS", 25)

    seed()
    before = row_counts()
    seed()

    assert Ticket.objects.count() == TICKETS
    assert row_counts() == before


# --- What the tickets are --------------------------------------------------------------------


def test_every_open_status_has_a_backlog_and_older_tickets_are_closed():
    seed()

    counts = Counter(Ticket.objects.values_list("status", flat=True))
    for status in (S.NEW, S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED):
        assert counts[status] >= 5, (status, counts)
    older = Ticket.objects.filter(created_at__lt=NOW - timedelta(days=7))
    assert older.count() > TICKETS / 2
    assert set(older.values_list("status", flat=True)) == {S.CLOSED}


def test_tickets_spread_over_the_last_year_and_over_kinds_channels_and_priorities():
    seed()

    created = list(Ticket.objects.values_list("created_at", flat=True))
    assert min(created) >= NOW - timedelta(days=365)
    assert max(created) <= NOW
    assert min(created) < NOW - timedelta(days=200)
    assert len(set(Ticket.objects.values_list("kind", flat=True))) == 5
    assert len(set(Ticket.objects.values_list("channel", flat=True))) >= 5
    priorities = Counter(Ticket.objects.values_list("priority", flat=True))
    assert priorities.most_common(1)[0][0] == "normal"
    assert len(priorities) >= 3


def test_timestamps_follow_the_status():
    seed()

    for t in Ticket.objects.all():
        moments = [t.created_at, t.first_response_at, t.solved_at, t.closed_at]
        happened = [m for m in moments if m is not None]
        assert happened == sorted(happened), t.number
        assert all(m <= NOW for m in happened)
        assert t.created_at <= t.updated_at <= NOW
        assert (t.first_response_at is None) == (t.status == S.NEW), t.number
        assert (t.solved_at is not None) == (t.status in (S.SOLVED, S.CLOSED)), t.number
        assert (t.closed_at is not None) == (t.status == S.CLOSED), t.number
        assert (t.owner_id is not None) == (t.first_response_at is not None), t.number


def test_no_ticket_is_assigned_to_someone_outside_its_team():
    seed()

    memberships = set(Team.members.through.objects.values_list("team_id", "user_id"))
    assigned = Ticket.objects.filter(assignee__isnull=False)
    assert assigned.exists()
    for team_id, assignee_id in assigned.values_list("team_id", "assignee_id"):
        assert (team_id, assignee_id) in memberships
    # Everyone who has answered a ticket holds it.
    assert not Ticket.objects.exclude(status=S.NEW).filter(assignee__isnull=True).exists()


def test_tickets_about_an_order_are_the_customers_own_and_come_after_it():
    seed()

    about_orders = Ticket.objects.filter(order__isnull=False).select_related("order")
    assert about_orders.exists()
    for t in about_orders:
        assert t.order.customer_id == t.customer_id
        assert t.order.placed_at < t.created_at


def test_conversations_start_with_the_customer_and_the_first_reply_is_the_first_response():
    seed()

    for t in Ticket.objects.prefetch_related("messages"):
        messages = list(t.messages.all())
        assert messages[0].author_kind == AuthorKind.CUSTOMER
        assert messages[0].created_at == t.created_at
        replies = [m for m in messages if m.is_public_agent_reply]
        assert (replies[0].created_at if replies else None) == t.first_response_at, t.number
        # Internal notes are the agents', or automated ones of the complaint filed on it.
        assert all(
            m.author_kind == AuthorKind.AGENT
            or (m.author_kind == AuthorKind.SYSTEM and m.automated)
            for m in messages
            if m.internal
        )
        assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)
    average = Message.objects.count() / TICKETS
    assert 2.5 <= average <= 5


def test_each_timeline_starts_with_created_and_its_status_changes_end_in_the_status():
    seed()

    for t in Ticket.objects.prefetch_related("events"):
        events = list(t.events.all())
        assert events[0].type == TicketEventType.CREATED
        status = S.NEW
        for e in events:
            if e.type in (TicketEventType.STATUS, TicketEventType.REOPENED):
                assert e.old_value == status, t.number
                status = e.new_value
        assert status == t.status, t.number
        reopened = sum(e.type == TicketEventType.REOPENED for e in events)
        assert reopened == t.reopen_count


# --- Queues and SLA ---------------------------------------------------------------------------


def test_the_demo_agent_has_tickets_in_the_team_queue_and_in_their_own():
    seed()
    agent = User.objects.get(username=AGENT)

    team_queue = ticket_queue(user=agent, view="team", now=NOW)
    mine = ticket_queue(user=agent, view="mine", now=NOW)

    assert team_queue.exists()
    assert mine.exists()
    assert set(mine.values_list("status", flat=True)) <= set(OPEN_STATUSES)


def test_every_open_ticket_with_a_running_clock_has_its_next_due_time():
    seed()

    running = SlaClock.objects.filter(running_since__isnull=False, stopped_at__isnull=True)
    open_with_running = Ticket.objects.filter(status__in=OPEN_STATUSES, sla_clocks__in=running)
    assert open_with_running.exists()
    assert not open_with_running.filter(next_due_at__isnull=True).exists()
    assert not Ticket.objects.filter(status=S.CLOSED, next_due_at__isnull=False).exists()
    breaching = ticket_queue(user=User.objects.get(username=SUPERVISOR), view="breached", now=NOW)
    assert breaching.exists()


def test_every_ticket_has_the_clocks_of_the_default_policies_in_a_consistent_state():
    seed()

    for clock in SlaClock.objects.select_related("ticket", "target"):
        assert clock.target_minutes == clock.target.minutes
        stopped = clock.stopped_at is not None
        assert stopped == (clock.status in ("met", "breached") and clock.running_since is None)
        if stopped:
            assert clock.margin == timedelta(minutes=clock.target_minutes) - clock.used
            assert (clock.margin < timedelta(0)) == (clock.status == "breached")
            assert clock.due_at is None
        if clock.status == "active":
            assert clock.due_at is not None
            assert clock.due_at > NOW
        if clock.status == "paused":
            assert clock.ticket.status in ("pending", "on_hold")
            assert clock.due_at is None
    cases = Ticket.objects.filter(kind__in=CASE_KINDS)
    chats = Ticket.objects.filter(channel__in=("chat", "live_stream")).exclude(kind__in=CASE_KINDS)
    assert cases.exists()
    assert chats.exists()
    first_cycles = Counter(
        SlaClock.objects.exclude(metric="next_response").values_list("metric", flat=True)
    )
    assert first_cycles == {
        "first_response": TICKETS,
        "handling": TICKETS - cases.count(),
        "closure": TICKETS,
        "acceptance": cases.count(),
        "plan": cases.count(),
    }
    assert set(
        SlaClock.objects.filter(metric="next_response").values_list("ticket__channel", flat=True)
    ) <= {"chat", "live_stream"}
    breached = SlaClock.objects.filter(status="breached")
    assert breached.exists()
    assert SlaEvent.objects.filter(kind="breach").count() == breached.count()


def test_no_solved_or_closed_ticket_has_a_running_closure_clock():
    seed()

    ended = SlaClock.objects.filter(metric="closure", ticket__status__in=("solved", "closed"))
    assert ended.exists()
    assert not ended.filter(stopped_at__isnull=True).exists()
    assert set(ended.values_list("status", flat=True)) <= {"met", "breached"}


def test_the_sla_engine_finds_nothing_left_to_do_at_the_seeding_moment():
    seed()

    with transaction.atomic():
        assert sla_sweep(now=NOW).__dict__ == {
            "warned": 0,
            "breached": 0,
            "escalated": 0,
        }
        transaction.set_rollback(True)


def test_resyncing_the_clocks_at_the_seeding_moment_changes_no_due_time_or_state():
    seed()
    fields = ("metric", "cycle", "status", "due_at", "breached_at", "stopped_at", "margin")

    with transaction.atomic():
        for ticket in Ticket.objects.select_related("customer").exclude(status=S.CLOSED):
            clocks = ticket.sla_clocks.order_by("metric", "cycle")
            before = [[getattr(c, f) for f in fields] for c in clocks]
            # A warning time already passed is moved to the resync moment: compare the future.
            warn_before = [c.warn_at if c.warn_at and c.warn_at > NOW else None for c in clocks]
            due_before = ticket.next_due_at

            ticket_clocks_sync(ticket, now=NOW)

            clocks = ticket.sla_clocks.order_by("metric", "cycle")
            assert [[getattr(c, f) for f in fields] for c in clocks] == before, ticket.number
            warn_after = [c.warn_at if c.warn_at and c.warn_at > NOW else None for c in clocks]
            assert warn_after == warn_before, ticket.number
            assert ticket.next_due_at == due_before, ticket.number
        transaction.set_rollback(True)
