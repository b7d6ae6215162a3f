"""What other apps' processes may do to the tickets they open, and what tickets tell them.

Milestone targets (a complaint accepted within 24 h, a plan within 48 h), system changes
(a return that ended solves its ticket) and the signals sent after commit.
"""

from datetime import timedelta

import pytest

from csplatform.actors import Actor
from tests.tickets.test_sla_clocks import T0, at, clock, open_ticket, refresh, team
from tickets.models import SlaEvent, SlaEventKind
from tickets.services import (
    ticket_milestone_record,
    ticket_reply,
    ticket_system_change,
    ticket_update,
)
from tickets.signals import sla_breached, ticket_status_changed
from tickets.sla.sweeper import sla_sweep

pytestmark = pytest.mark.django_db
COMPLAINTS = Actor.system("complaints")
__all__ = ["team"]  # a fixture


def test_complaint_tickets_run_acceptance_and_plan_clocks_from_creation(team):
    ticket = open_ticket(team, kind="complaint")
    acceptance, plan = clock(ticket, "acceptance"), clock(ticket, "plan")
    assert acceptance.due_at == T0 + timedelta(hours=24)
    assert plan.due_at == T0 + timedelta(hours=48)


def test_other_kinds_have_no_milestone_clocks(team):
    ticket = open_ticket(team, kind="inquiry")
    assert clock(ticket, "acceptance") is None


def test_recording_the_milestone_meets_its_clock_and_keeps_the_first_time(team):
    ticket = open_ticket(team, kind="complaint")
    ticket_milestone_record(ticket=ticket, milestone="acceptance", actor=COMPLAINTS, now=at(90))
    ticket_milestone_record(ticket=ticket, milestone="acceptance", actor=COMPLAINTS, now=at(900))
    met = clock(ticket, "acceptance")
    assert (met.status, met.used) == ("met", timedelta(minutes=90))
    assert refresh(ticket).milestones == {"acceptance": at(90).isoformat()}
    assert clock(ticket, "plan").status == "active"
    assert refresh(ticket).events.filter(type="milestone").count() == 1


def test_an_unknown_milestone_is_refused(team):
    ticket = open_ticket(team, kind="complaint")
    with pytest.raises(ValueError, match="Unknown milestone"):
        ticket_milestone_record(ticket=ticket, milestone="accepted", actor=COMPLAINTS, now=at(1))


def test_a_missed_milestone_breaches_and_is_announced_after_commit(
    team, django_capture_on_commit_callbacks
):
    ticket = open_ticket(team, kind="complaint")
    heard = []

    def listen(sender, **kwargs):
        heard.append((kwargs["ticket_id"], kwargs["metric"]))

    sla_breached.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            sla_sweep(now=at(24 * 60 + 1))
    finally:
        sla_breached.disconnect(listen)
    assert clock(ticket, "acceptance").status == "breached"
    assert (ticket.pk, "acceptance") in heard
    assert SlaEvent.objects.filter(clock__ticket=ticket, kind=SlaEventKind.BREACH).exists()


def test_status_changes_are_announced_after_commit(team, agent, django_capture_on_commit_callbacks):
    ticket = open_ticket(team)
    heard = []

    def listen(sender, **kwargs):
        heard.append((kwargs["old_status"], kwargs["new_status"], kwargs["at"]))

    ticket_status_changed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket_reply(ticket=ticket, user=agent, body="已处理", then_status="solved", now=at(5))
            assert heard == []  # not before the transaction committed
        with django_capture_on_commit_callbacks(execute=True):
            ticket_update(ticket=refresh(ticket), by_user=agent, status="open", now=at(9))
    finally:
        ticket_status_changed.disconnect(listen)
    assert heard == [("new", "solved", at(5)), ("solved", "open", at(9))]


def test_a_system_change_solves_the_ticket_with_a_note_and_raises_priority(team):
    ticket = open_ticket(team, kind="return_refund")
    ticket_system_change(
        ticket=ticket,
        actor=COMPLAINTS,
        status="solved",
        priority_at_least="high",
        note="Refund paid",
        now=at(30),
    )
    ticket = refresh(ticket)
    assert (ticket.status, ticket.priority, ticket.solved_at) == ("solved", "high", at(30))
    note = ticket.messages.get(author_kind="system")
    assert note.internal
    assert note.body == "Refund paid"
    # A return ticket is measured by acceptance and plan (sla.md), and solving ends both.
    assert clock(ticket, "handling") is None
    assert {clock(ticket, m).status for m in ("acceptance", "plan", "closure")} == {"met"}


def test_a_system_change_never_lowers_priority_nor_reopens_a_closed_ticket(team, agent):
    ticket = open_ticket(team, priority="urgent")
    ticket_update(ticket=ticket, by_user=agent, status="solved", now=at(1))
    ticket_update(ticket=refresh(ticket), by_user=agent, status="closed", now=at(2))
    ticket_system_change(
        ticket=ticket, actor=COMPLAINTS, status="solved", priority_at_least="high", now=at(3)
    )
    ticket = refresh(ticket)
    assert (ticket.status, ticket.priority) == ("closed", "urgent")
