"""The enforcement rules of sla.md: warnings, breaches, escalations, once each, e-mailed once.

Time is driven explicitly: the services and ``sla_sweep(now=...)`` take ``now``; the Celery task
reads the wall clock, which ``time_machine`` sets.
"""

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connections, transaction
from django.db.models import Count

from csplatform.actors import Actor
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, TeamFactory, online_agent, supervisor_user
from tickets.models import (
    BusinessCalendar,
    BusinessHours,
    EscalationRule,
    Notification,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketEvent,
    TicketSettings,
)
from tickets.notifications import notifications_send_due, unread_count
from tickets.selectors import sla_state
from tickets.services import ticket_create, ticket_reply, ticket_update
from tickets.sla.sweeper import SweepResult, sla_sweep
from tickets.tasks import notifications_email_task, sla_sweep_task

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday
STOREFRONT = Actor(kind="api_key", label="storefront")
NOTHING = SweepResult()


def at(minutes: float = 0, seconds: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


@pytest.fixture
def team():
    team = TeamFactory(name="Service desk")
    team.supervisor = supervisor_user(username="boss")
    team.save()
    settings = TicketSettings.load()
    settings.default_team = team  # every new ticket lands here
    settings.save()
    return team


def open_ticket(*, now: datetime = T0) -> Ticket:
    return ticket_create(
        customer=CustomerFactory(),
        kind="inquiry",
        channel="web",
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=STOREFRONT,
        now=now,
    )


def first_response(ticket: Ticket) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, metric="first_response")


def refresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def sla_events(ticket: Ticket, kind: str) -> list[SlaEvent]:
    return list(SlaEvent.objects.filter(clock__ticket=ticket, kind=kind).order_by("id"))


def recipients(kind: str) -> list[str]:
    return sorted(Notification.objects.filter(kind=kind).values_list("user__username", flat=True))


def sweep_and_email(now) -> int:
    """A beat tick: the SLA sweep, then the e-mail task that runs beside it; e-mails sent."""
    sla_sweep(now=now)
    return notifications_send_due(now=now)


def mailed_to() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def first_response_policy(*, minutes: int = 15, ladder=(), calendar=None, hold=False):
    """A policy for every ticket, ahead of the defaults, with one first-response target.

    ``ladder``: ``(minutes_after_breach, action, extra fields)`` per escalation level.
    """
    policy = SlaPolicy.objects.create(name="Custom", position=1)
    SlaTarget.objects.create(
        policy=policy,
        metric="first_response",
        minutes=minutes,
        calendar=calendar,
        hold_notifications_outside_hours=hold,
    )
    for after, action, extra in ladder:
        EscalationRule.objects.create(
            policy=policy,
            metric="first_response",
            minutes_after_breach=after,
            action=action,
            **extra,
        )
    return policy


# --- Warning ----------------------------------------------------------------------------------


def test_a_15_minute_target_warns_the_assignee_at_12_minutes_and_not_a_second_before(team, agent):
    ticket = open_ticket()
    assert refresh(ticket).assignee == agent

    assert sla_sweep(now=at(11, seconds=59)) == NOTHING
    assert not SlaEvent.objects.exists()

    result = sla_sweep(now=at(12))

    assert result == SweepResult(warned=1, breached=0, escalated=0)
    [warning] = sla_events(ticket, "warning")
    assert (warning.clock.metric, warning.level, warning.at) == ("first_response", 0, at(12))
    assert first_response(ticket).warned_at == at(12)
    [note] = Notification.objects.filter(kind="sla_warning")
    assert (note.user, note.ticket, note.sla_event) == (agent, ticket, warning)
    assert note.text == f"{ticket.number}: first response is breaching soon"
    # "Breaching soon": the warning time has passed, the due time has not.
    ticket = refresh(ticket)
    assert ticket.next_warn_at <= at(12) < ticket.next_due_at


def test_the_warning_of_an_unassigned_ticket_goes_to_the_team_supervisor(team):
    ticket = open_ticket()  # nobody in the team is online: it stays unassigned
    assert refresh(ticket).assignee is None

    assert sla_sweep(now=at(12)).warned == 1

    assert recipients("sla_warning") == ["boss"]


def test_a_clock_first_swept_after_its_due_time_is_breached_without_a_warning(team, agent):
    ticket = open_ticket()

    result = sla_sweep(now=at(16))  # beat was down from before the warning to past the due time

    assert (result.warned, result.breached) == (0, 1)
    assert sla_events(ticket, "warning") == []
    assert recipients("sla_warning") == []
    assert sorted(recipients("sla_breach")) == ["boss", "li.na"]
    assert first_response(ticket).warned_at is None
    assert sla_sweep(now=at(17)) == NOTHING  # and no late warning after the breach


# --- Breach -----------------------------------------------------------------------------------


def test_a_breach_is_caught_by_the_first_sweep_after_the_due_time_and_dated_at_it(team, agent):
    ticket = open_ticket()
    sla_sweep(now=at(12))
    assert sla_sweep(now=at(14, seconds=59)).breached == 0

    result = sla_sweep(now=at(15, seconds=15))  # the next sweep, 15 s after the due time

    assert result.breached == 1
    clock = first_response(ticket)
    assert clock.status == "breached"
    assert clock.breached_at == at(15)  # the due time, not the time the sweep ran
    [breach] = sla_events(ticket, "breach")
    assert breach.clock == clock
    assert {c.status for c in ticket.sla_clocks.exclude(pk=clock.pk)} == {"active"}


def test_right_after_a_breach_the_ticket_reads_breached_whatever_else_is_running(team, agent):
    ticket = open_ticket()

    sla_sweep(now=at(15, seconds=15))

    ticket = refresh(ticket)
    # A breached clock keeps its due time in ``next_due_at``: the breach outranks any other
    # clock's warning, so the ticket reads breached until the breached clock stops.
    assert ticket.next_due_at == at(15)
    assert sla_state(ticket, at(15, seconds=15)) == "breached"


def test_a_breach_notifies_the_assignee_and_the_team_supervisor(team, agent):
    ticket = open_ticket()

    sla_sweep(now=at(15))

    [breach] = sla_events(ticket, "breach")
    notes = Notification.objects.filter(sla_event=breach)
    assert sorted(n.user.username for n in notes) == ["boss", "li.na"]
    assert {n.text for n in notes} == {f"{ticket.number}: first response breached"}


def test_a_breached_ticket_is_in_the_breached_state_of_the_queue(team, agent):
    ticket = open_ticket()

    sla_sweep(now=at(15))

    now = at(16)
    ticket = refresh(ticket)
    assert ticket.next_due_at <= now
    assert sla_state(ticket, now) == "breached"
    assert list(Ticket.objects.open().due_before(now)) == [ticket]


# --- Escalation -------------------------------------------------------------------------------


def test_the_default_ladder_tells_the_supervisor_at_once_and_raises_the_priority_after_30_min(
    team, agent
):
    ticket = open_ticket()
    sla_sweep(now=at(12))

    assert sla_sweep(now=at(15)).escalated == 1

    [level_1] = sla_events(ticket, "escalation")
    assert (level_1.level, level_1.detail["action"]) == (1, "notify_supervisor")
    [note] = Notification.objects.filter(sla_event=level_1)
    assert (note.user.username, note.kind) == ("boss", "sla_escalation")
    assert refresh(ticket).priority == "normal"
    assert first_response(ticket).next_escalation_at == at(45)

    assert sla_sweep(now=at(44, seconds=59)).escalated == 0
    assert sla_sweep(now=at(45)).escalated == 1

    levels = [(e.level, e.detail["action"]) for e in sla_events(ticket, "escalation")]
    assert levels == [(1, "notify_supervisor"), (2, "raise_priority")]
    assert refresh(ticket).priority == "high"
    raised = TicketEvent.objects.get(ticket=ticket, type="priority")
    assert (raised.old_value, raised.new_value) == ("normal", "high")
    assert raised.actor_label == "SLA escalation level 2"
    clock = first_response(ticket)
    assert (clock.escalation_level, clock.next_escalation_at) == (2, None)
    assert sla_sweep(now=at(600)).escalated == 0  # the ladder has no third level
    assert refresh(ticket).priority == "high"


def test_a_custom_ladder_notifies_a_named_user_then_moves_the_ticket_to_another_team(team, agent):
    duty_manager = supervisor_user(username="duty.manager")
    escalations = TeamFactory(name="Escalations")
    senior = online_agent(escalations, username="senior")
    first_response_policy(
        minutes=10,
        ladder=[
            (0, "notify_user", {"user": duty_manager}),
            (20, "move_to_team", {"team": escalations}),
        ],
    )
    ticket = open_ticket()

    assert sla_sweep(now=at(10)).escalated == 1

    assert recipients("sla_escalation") == ["duty.manager"]
    assert refresh(ticket).team == team

    assert sla_sweep(now=at(30)).escalated == 1

    ticket = refresh(ticket)
    assert (ticket.team, ticket.assignee) == (escalations, senior)  # re-assigned there
    moved = TicketEvent.objects.get(ticket=ticket, type="team")
    assert (moved.old_value, moved.new_value) == ("Service desk", "Escalations")
    assert moved.actor_label == "SLA escalation level 2"
    assert [e.level for e in sla_events(ticket, "escalation")] == [1, 2]
    assert first_response(ticket).status == "breached"


def test_a_late_sweep_catches_up_every_due_level_in_order_each_recorded_once(team, agent):
    ticket = open_ticket()

    result = sla_sweep(now=at(50))  # nothing swept for 50 minutes

    # Already past due: breached, not warned that it is about to breach.
    assert (result.warned, result.breached, result.escalated) == (0, 1, 2)
    escalation_levels = [(e.level, e.detail["action"]) for e in sla_events(ticket, "escalation")]
    assert escalation_levels == [(1, "notify_supervisor"), (2, "raise_priority")]
    assert first_response(ticket).breached_at == at(15)
    assert refresh(ticket).priority == "high"  # one step, not one per sweep

    assert sla_sweep(now=at(51)) == NOTHING
    assert sla_sweep(now=at(600)) == NOTHING
    kinds = SlaEvent.objects.values_list("kind", "level").order_by("kind", "level")
    assert list(kinds) == [("breach", 0), ("escalation", 1), ("escalation", 2)]
    assert refresh(ticket).priority == "high"


def test_a_reply_before_the_next_level_stops_the_escalation(team, agent):
    ticket = open_ticket()
    sla_sweep(now=at(15))  # breach and level 1

    ticket_reply(ticket=ticket, user=agent, body="抱歉久等，已为您查询", now=at(20))

    clock = first_response(ticket)
    assert (clock.status, clock.stopped_at, clock.next_escalation_at) == (
        "breached",
        at(20),
        None,
    )
    assert sla_sweep(now=at(45)).escalated == 0
    assert [e.level for e in sla_events(ticket, "escalation")] == [1]
    assert refresh(ticket).priority == "normal"


# --- Once, whatever happens -------------------------------------------------------------------


@pytest.mark.postgres(reason="sweepers in threads share batches through SKIP LOCKED")
@pytest.mark.django_db(transaction=True)
def test_sweepers_running_at_once_raise_one_alert_and_one_notification_per_recipient(team):
    agent = online_agent(team, username="li.na", capacity=500)
    tickets = [open_ticket() for _ in range(200)]
    assert Ticket.objects.filter(assignee=agent).count() == 200
    sweepers = 4

    def sweep_at_once(now) -> list[SweepResult]:
        return run_at_once(sweepers, lambda _i: sla_sweep(now=now, batch_size=50))

    warned = sweep_at_once(at(12))
    assert sum(r.warned for r in warned) == 200
    results = sweep_at_once(at(20))
    # A sweeper takes at most one batch of escalations, and leaves those of clocks another
    # sweeper breached after it looked: the next sweep runs them, once each as well.
    results.append(sla_sweep(now=at(20)))
    assert (results[-1].warned, results[-1].breached) == (0, 0)
    assert sum(r.warned for r in results) == 0
    assert sum(r.breached for r in results) == 200
    assert sum(r.escalated for r in results) == 200  # level 1: notify the supervisor
    clocks = SlaClock.objects.filter(ticket__in=tickets, metric="first_response")
    assert set(clocks.values_list("status", flat=True)) == {"breached"}
    per_clock = clocks.annotate(n=Count("events")).values_list("n", flat=True)
    assert set(per_clock) == {3}  # warning, breach, escalation level 1
    breaches = SlaEvent.objects.filter(kind="breach")
    assert breaches.count() == 200
    per_breach = breaches.annotate(n=Count("notifications")).values_list("n", flat=True)
    assert set(per_breach) == {2}  # the assignee and the supervisor, once each
    assert Notification.objects.filter(kind="sla_warning").count() == 200  # the assignee
    assert Notification.objects.count() == 200 + 400 + 200
    assert notifications_send_due(now=at(20)) == Notification.objects.count()
    assert len(mail.outbox) == Notification.objects.count()  # every one e-mailed once


@pytest.mark.postgres(reason="a thread holds the ticket's row lock while a sweep runs")
@pytest.mark.django_db(transaction=True)
def test_a_sweep_while_a_ticket_service_holds_the_ticket_neither_deadlocks_nor_loses_the_alert(
    team, agent
):
    ticket = open_ticket()
    supervisor = team.supervisor
    service_has_the_ticket = threading.Event()
    errors = []

    def priority_change():
        # A ticket service locks the ticket, then (in ticket_clocks_sync) its clocks.
        try:
            with transaction.atomic():
                locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
                service_has_the_ticket.set()
                time.sleep(1.5)  # the sweep runs meanwhile
                ticket_update(ticket=locked, by_user=supervisor, priority="high", now=at(13))
        except Exception as error:
            errors.append(("service", error))
        finally:
            connections.close_all()

    def sweep():
        try:
            service_has_the_ticket.wait(timeout=30)
            time.sleep(0.2)
            sla_sweep(now=at(13))
        except Exception as error:
            errors.append(("sweep", error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=priority_change), threading.Thread(target=sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert refresh(ticket).priority == "high"
    sla_sweep(now=at(13, seconds=15))  # the next sweep, if the first one left the ticket
    assert len(sla_events(ticket, "warning")) == 1
    assert recipients("sla_warning") == ["li.na"]


def test_a_clock_jump_backwards_undoes_nothing_and_alerts_nothing_twice(team, agent):
    ticket = open_ticket()
    sla_sweep(now=at(20))

    def stored():
        return (
            list(SlaClock.objects.filter(ticket=ticket).order_by("id").values()),
            list(SlaEvent.objects.order_by("id").values()),
            list(Notification.objects.order_by("id").values()),
            Ticket.objects.filter(pk=ticket.pk).values().get(),
            len(mail.outbox),
        )

    after_breach = stored()
    assert first_response(ticket).status == "breached"

    assert sla_sweep(now=at(5)) == NOTHING  # the clock jumped back 15 minutes
    assert stored() == after_breach
    assert sla_sweep(now=at(25)) == NOTHING
    assert stored() == after_breach
    clock = first_response(ticket)
    assert (clock.status, clock.breached_at) == ("breached", at(15))


def test_a_retried_sweep_task_alerts_once(team, agent):
    ticket = open_ticket()

    with time_machine.travel(at(20), tick=False):
        first = sla_sweep_task.delay().get()
        emailed = notifications_email_task.delay().get()
        retried = sla_sweep_task.delay().get()
        emailed_again = notifications_email_task.delay().get()
    with time_machine.travel(at(21), tick=False):
        later = sla_sweep_task.delay().get()

    assert first == {"warned": 0, "breached": 1, "escalated": 1}  # past due: no warning
    assert retried == later == {"warned": 0, "breached": 0, "escalated": 0}
    assert len(sla_events(ticket, "breach")) == 1
    assert recipients("sla_breach") == ["boss", "li.na"]
    assert emailed == len(mail.outbox) == Notification.objects.count()
    assert emailed_again == 0


# --- E-mail -----------------------------------------------------------------------------------


def test_each_notification_is_emailed_once_by_the_email_task(team, agent):
    ticket = open_ticket()

    assert sweep_and_email(at(12)) == 1

    [message] = mail.outbox
    assert message.to == [agent.email]
    assert message.subject == f"[CS Desk] {ticket.number}: first response is breaching soon"
    assert f"/desk/tickets/{ticket.number}/" in message.body
    assert Notification.objects.get().emailed_at == at(12)

    assert sweep_and_email(at(13)) == 0
    assert len(mail.outbox) == 1


def test_a_user_without_an_email_address_gets_the_notification_but_no_email(team):
    agent = online_agent(team, username="li.na", email="")
    ticket = open_ticket()
    assert refresh(ticket).assignee == agent

    sweep_and_email(at(12))
    sweep_and_email(at(15))

    assert recipients("sla_warning") == ["li.na"]
    assert recipients("sla_breach") == ["boss", "li.na"]
    assert set(mailed_to()) == {team.supervisor.email}  # breach and escalation level 1
    assert len(mail.outbox) == 2
    assert sweep_and_email(at(16)) == 0  # skipped for good, not retried every sweep


FRIDAY = datetime(2026, 3, 6, tzinfo=SHANGHAI)
MONDAY_OPENING = datetime(2026, 3, 9, 9, 0, tzinfo=SHANGHAI)


def friday(hour: int, minute: int, second: int = 0) -> datetime:
    return FRIDAY.replace(hour=hour, minute=minute, second=second)


@pytest.fixture
def weekdays_9_to_18():
    calendar = BusinessCalendar.objects.create(name="Weekdays", timezone="Asia/Shanghai")
    BusinessHours.objects.bulk_create(
        BusinessHours(calendar=calendar, weekday=day, opens="09:00", closes="18:00")
        for day in range(5)
    )
    return calendar


def test_notifications_outside_business_hours_wait_for_the_next_opening(
    team, agent, weekdays_9_to_18
):
    first_response_policy(minutes=15, calendar=weekdays_9_to_18, hold=True)
    ticket = open_ticket(now=friday(17, 45))
    assert first_response(ticket).due_at == friday(18, 0)  # a deadline at closing time

    sweep_and_email(friday(17, 57))  # the warning, within open hours: sent at once
    assert mailed_to() == [agent.email]

    sweep_and_email(friday(18, 0, 15))  # the breach, after closing: held

    breach_notes = Notification.objects.filter(kind="sla_breach")
    assert sorted(n.user.username for n in breach_notes) == ["boss", "li.na"]
    assert {n.deliver_after for n in breach_notes} == {MONDAY_OPENING}
    assert unread_count(agent, friday(18, 1)) == 1  # the warning only
    assert sweep_and_email(friday(23, 0)) == 0
    assert sweep_and_email(MONDAY_OPENING - timedelta(seconds=1)) == 0
    assert len(mail.outbox) == 1

    assert sweep_and_email(MONDAY_OPENING) == 2

    assert mailed_to() == sorted([agent.email, agent.email, team.supervisor.email])
    assert unread_count(agent, MONDAY_OPENING) == 2


def test_notifications_wait_for_the_teams_business_hours_where_the_team_has_them(
    team, agent, weekdays_9_to_18
):
    first_response_policy(minutes=15, calendar=None, hold=True)  # counted in calendar time
    team.calendar = weekdays_9_to_18
    team.save()
    ticket = open_ticket(now=friday(18, 30))  # the team went home at 18:00
    assert first_response(ticket).due_at == friday(18, 45)

    sweep_and_email(friday(18, 45, 15))

    held = Notification.objects.filter(ticket=ticket)
    assert sorted(held.values_list("kind", flat=True)) == ["sla_breach", "sla_breach"]
    assert {n.deliver_after for n in held} == {MONDAY_OPENING}
    assert mail.outbox == []
    assert sweep_and_email(MONDAY_OPENING) == 2


def test_without_team_hours_a_calendar_time_target_holds_nothing(team, agent):
    first_response_policy(minutes=15, calendar=None, hold=True)
    open_ticket(now=friday(18, 30))

    assert sweep_and_email(friday(18, 45, 15)) == 2  # the breach, to assignee and supervisor


def test_notifications_are_not_held_when_the_target_does_not_say_so(team, agent, weekdays_9_to_18):
    first_response_policy(minutes=15, calendar=weekdays_9_to_18, hold=False)
    open_ticket(now=friday(17, 45))

    assert sweep_and_email(friday(18, 0, 15)) == 2  # the breach (past due: no warning)

    breach_notes = Notification.objects.filter(kind="sla_breach")
    assert {n.deliver_after for n in breach_notes} == {friday(18, 0, 15)}
