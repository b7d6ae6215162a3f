"""``seed_demo``: complaints filed from the demo complaint tickets, through their lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from complaints.choices import ComplaintStatus, EscalationLevel
from complaints.models import Complaint, ComplaintEvent
from complaints.transitions import ALLOWED_TRANSITIONS
from demo import complaints as demo
from tests.seeding import DEMO_NOW, seed_demo_at
from tickets.choices import TicketEventType, TicketKind, TicketStatus
from tickets.models import SlaClock

pytestmark = pytest.mark.django_db

ORDERS = 600
TICKETS = 1_500
NOW = DEMO_NOW
S = ComplaintStatus


@pytest.fixture(autouse=True)
def _more_complaints(monkeypatch):
    # A small demo has few complaint tickets: file one on most of them.
    monkeypatch.setattr(demo, "COMPLAINT_RATE", 0.05)


def seed(orders: int = ORDERS, tickets: int = TICKETS) -> str:
    return seed_demo_at(orders=orders, tickets=tickets)


def row_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Complaint, ComplaintEvent)}


def test_complaints_are_filed_on_complaint_tickets_of_the_same_customer_and_numbered_by_them():
    seed()

    complaints = Complaint.objects.select_related("ticket")
    assert complaints.count() >= 10
    for c in complaints:
        assert c.ticket.kind == TicketKind.COMPLAINT
        assert (c.customer_id, c.order_id, c.channel) == (
            c.ticket.customer_id,
            c.ticket.order_id,
            c.ticket.channel,
        )
        assert c.number == f"C-{c.ticket_id:06d}"
        assert c.pk == c.ticket_id
        assert c.created_at >= c.ticket.created_at
    assert len({c.category for c in complaints}) >= 3
    assert len({c.severity for c in complaints}) >= 2


def test_each_timeline_follows_the_lifecycle_and_ends_in_the_status():
    seed()

    for c in Complaint.objects.prefetch_related("events"):
        events = list(c.events.all())
        assert events[0].type == "received"
        status = S.RECEIVED
        for e in events:
            if e.field == "status" and e.type != "received":
                assert e.old_value == status, c.number
                assert e.new_value in ALLOWED_TRANSITIONS[status], c.number
                status = e.new_value
        assert status == c.status, c.number
        escalations = [e for e in events if e.type == "escalated"]
        assert c.escalation_level == min(1 + len(escalations), EscalationLevel.MANAGER)


def test_closed_complaints_were_accepted_and_planned_in_order_on_a_solved_ticket():
    seed()

    closed = Complaint.objects.filter(status=S.CLOSED).select_related("ticket")
    assert closed.exists()
    for c in closed:
        assert c.closed_as
        assert c.confirmation_due_at is None
        assert c.created_at <= c.accepted_at <= c.plan_proposed_at <= c.closed_at
        assert c.ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED)
        assert set(c.ticket.milestones) == {"acceptance", "plan"}
        milestone_events = c.ticket.events.filter(type=TicketEventType.MILESTONE)
        assert milestone_events.count() == 2
    accepted = Complaint.objects.filter(accepted_at__isnull=False)
    in_time = [c for c in accepted if c.accepted_at - c.created_at <= timedelta(hours=24)]
    assert len(in_time) >= 0.5 * accepted.count()


def test_acceptance_and_plan_come_late_exactly_when_the_tickets_timers_breached():
    seed()

    checked = 0
    for c in Complaint.objects.filter(status=S.CLOSED):
        for metric, reached in (("acceptance", c.accepted_at), ("plan", c.plan_proposed_at)):
            clock = SlaClock.objects.get(ticket_id=c.ticket_id, metric=metric)
            if clock.breached_at is not None and clock.breached_at >= c.created_at:
                assert reached > clock.breached_at, (c.number, metric)
                escalation = c.events.get(type="escalated", sla_clock_id=clock.pk)
                assert escalation.at < reached
            elif clock.breached_at is None:
                assert reached <= clock.stopped_at, (c.number, metric)
            checked += 1
    assert checked


def test_a_complaint_on_a_ticket_still_open_waits_to_be_accepted():
    seed()

    for c in Complaint.objects.exclude(
        ticket__status__in=(TicketStatus.SOLVED, TicketStatus.CLOSED)
    ):
        assert c.status == S.RECEIVED
        assert c.accepted_at is None
        assert not c.ticket.milestones


def test_running_twice_creates_nothing_new():
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "complaints: created nothing (all present)" in output


def test_the_same_complaints_come_back_when_seeded_again():
    seed()
    first = {
        c.number: (c.category, c.severity, c.status, c.escalation_level, c.updated_at)
        for c in Complaint.objects.all()
    }
    Complaint.objects.all().delete()

    seed()

    again = {
        c.number: (c.category, c.severity, c.status, c.escalation_level, c.updated_at)
        for c in Complaint.objects.all()
    }
    assert again == first
