"""Complaint timers on the SLA engine: each breach raises the escalation level once and
tells that level's people; escalation by hand needs a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from complaints import escalation, services
from complaints.models import ComplaintEvent
from csplatform.errors import ConflictError, InvalidInput
from tests.complaints.helpers import STOREFRONT, at, file_complaint, refresh
from tickets.models import Notification, SlaClock
from tickets.services import ticket_reply
from tickets.sla.sweeper import sla_sweep

pytestmark = pytest.mark.django_db


def _sweep(now, capture):
    with capture(execute=True):
        sla_sweep(now=now)


def _escalation_notifications(complaint):
    return list(
        Notification.objects.filter(ticket=complaint.ticket, kind="complaint_escalation")
        .order_by("id")
        .values_list("user__username", "text")
    )


def test_no_first_response_in_15_minutes_raises_the_level_to_senior_agent(
    desk, django_capture_on_commit_callbacks
):
    complaint = file_complaint(now=at(0))
    _sweep(at(14), django_capture_on_commit_callbacks)
    assert refresh(complaint).escalation_level == 1
    _sweep(at(15), django_capture_on_commit_callbacks)
    complaint = refresh(complaint)
    assert complaint.escalation_level == 2
    clock = SlaClock.objects.get(ticket=complaint.ticket, metric="first_response")
    event = complaint.events.get(type="escalated")
    assert (event.old_value, event.new_value, event.sla_clock_id) == ("1", "2", clock.pk)
    assert event.actor_kind == "system"
    assert _escalation_notifications(complaint) == [
        (
            "wang.senior",
            f"{complaint.ticket.number}: complaint {complaint.number} escalated to level 2: "
            "first response timer breached",
        )
    ]


def test_each_missed_timer_raises_one_level_up_to_the_manager(
    desk, django_capture_on_commit_callbacks
):
    complaint = file_complaint(now=at(0))
    _sweep(at(15), django_capture_on_commit_callbacks)  # first response
    _sweep(at(24 * 60), django_capture_on_commit_callbacks)  # acceptance
    assert refresh(complaint).escalation_level == 3
    _sweep(at(48 * 60), django_capture_on_commit_callbacks)  # plan
    complaint = refresh(complaint)
    assert complaint.escalation_level == 4
    users = [u for u, _text in _escalation_notifications(complaint)]
    assert users == ["wang.senior", "zhu.guan", "boss.manager"]


def test_a_met_timer_does_not_escalate(desk, django_capture_on_commit_callbacks):
    complaint = file_complaint(now=at(0))
    ticket_reply(ticket=complaint.ticket, user=desk.agent, body="您好，已收到您的投诉", now=at(5))
    services.complaint_accept(complaint=complaint, actor=desk.agent_actor, now=at(60))
    _sweep(at(24 * 60 + 1), django_capture_on_commit_callbacks)
    assert refresh(complaint).escalation_level == 1
    # The plan timer still runs: its breach escalates.
    _sweep(at(48 * 60), django_capture_on_commit_callbacks)
    assert refresh(complaint).escalation_level == 2


def test_a_breach_escalates_once_however_often_it_is_announced(desk):
    complaint = file_complaint(now=at(0))
    clock = SlaClock.objects.get(ticket=complaint.ticket, metric="acceptance")
    for _ in range(3):
        escalation.complaint_escalate_for_breach(
            ticket_id=complaint.ticket_id, clock_id=clock.pk, metric="acceptance", now=at(1441)
        )
    complaint = refresh(complaint)
    assert complaint.escalation_level == 2
    assert ComplaintEvent.objects.filter(sla_clock_id=clock.pk).count() == 1
    assert len(_escalation_notifications(complaint)) == 1


def test_breaches_of_other_timers_and_other_tickets_are_ignored(desk):
    complaint = file_complaint(now=at(0))
    assert (
        escalation.complaint_escalate_for_breach(
            ticket_id=complaint.ticket_id, clock_id=999, metric="closure", now=at(5)
        )
        is None
    )
    assert (
        escalation.complaint_escalate_for_breach(
            ticket_id=complaint.ticket_id + 1000, clock_id=998, metric="plan", now=at(5)
        )
        is None
    )
    assert refresh(complaint).escalation_level == 1


def test_the_level_stays_at_manager_and_managers_hear_of_further_breaches(desk):
    complaint = file_complaint(now=at(0))
    services.complaint_escalate(
        complaint=complaint, reason="媒体介入", level=4, actor=desk.agent_actor, now=at(1)
    )
    escalation.complaint_escalate_for_breach(
        ticket_id=complaint.ticket_id, clock_id=12345, metric="plan", now=at(2)
    )
    complaint = refresh(complaint)
    assert complaint.escalation_level == 4
    # Told when it reached level 4 by hand, and again of the breach.
    assert [u for u, _t in _escalation_notifications(complaint)] == ["boss.manager"] * 2


def test_escalating_by_hand_needs_a_reason_and_notifies_the_next_level(desk):
    complaint = file_complaint(now=at(0))
    with pytest.raises(InvalidInput):
        services.complaint_escalate(complaint=complaint, reason=" ", actor=desk.agent_actor)
    services.complaint_escalate(
        complaint=complaint, reason="客户情绪激动", actor=desk.agent_actor, now=at(3)
    )
    services.complaint_escalate(
        complaint=complaint, reason="需要主管决定赔偿", actor=desk.agent_actor, now=at(4)
    )
    complaint = refresh(complaint)
    assert complaint.escalation_level == 3
    number = complaint.ticket.number
    assert _escalation_notifications(complaint) == [
        (
            "wang.senior",
            f"{number}: complaint {complaint.number} escalated to level 2: 客户情绪激动",
        ),
        (
            "zhu.guan",
            f"{number}: complaint {complaint.number} escalated to level 3: 需要主管决定赔偿",
        ),
    ]
    reasons = list(complaint.events.filter(type="escalated").values_list("reason", flat=True))
    assert reasons == ["客户情绪激动", "需要主管决定赔偿"]
    # The ticket carries an internal note for whoever opens it.
    assert complaint.ticket.messages.filter(internal=True, body__contains="需要主管决定赔偿")


def test_escalation_only_goes_up_and_never_past_the_manager(desk):
    complaint = file_complaint(now=at(0))
    services.complaint_escalate(
        complaint=complaint, reason="x", level=3, actor=desk.agent_actor, now=at(1)
    )
    for level in (None, 2, 3, 5):
        if level is None:
            services.complaint_escalate(complaint=complaint, reason="y", actor=desk.agent_actor)
            continue
        with pytest.raises(ConflictError):
            services.complaint_escalate(
                complaint=complaint, reason="y", level=level, actor=desk.agent_actor
            )
    with pytest.raises(ConflictError):
        services.complaint_escalate(complaint=complaint, reason="z", actor=desk.agent_actor)
    assert refresh(complaint).escalation_level == 4


def test_level_two_falls_back_to_the_supervisor_when_the_team_has_no_senior_agent(desk):
    from complaints.models import SeniorAgent

    SeniorAgent.objects.all().delete()
    complaint = file_complaint(now=at(0))
    assert escalation.level_people(complaint, 1) == [desk.agent]
    assert escalation.level_people(complaint, 2) == [desk.supervisor]
    assert escalation.level_people(complaint, 3) == [desk.supervisor]
    assert escalation.level_people(complaint, 4) == [desk.manager]


def test_a_senior_agent_of_another_team_is_not_told(desk):
    from complaints.models import SeniorAgent
    from tests.factories import agent_user

    SeniorAgent.objects.create(user=agent_user(username="elsewhere"))
    complaint = file_complaint(now=at(0))
    assert escalation.level_people(complaint, 2) == [desk.senior]


def test_a_closed_complaint_is_not_escalated_by_a_late_breach(desk):
    from tests.complaints.helpers import walk_to

    complaint = walk_to(file_complaint(now=at(0)), "awaiting_confirmation", desk.agent_actor)
    services.complaint_confirm(complaint=complaint, accepted=True, actor=STOREFRONT, now=at(90))
    escalation.complaint_escalate_for_breach(
        ticket_id=complaint.ticket_id, clock_id=777, metric="plan", now=at(90) + timedelta(1)
    )
    assert refresh(complaint).escalation_level == 1


def test_a_breach_whose_announcement_was_lost_is_caught_up_once(desk):
    complaint = file_complaint(now=at(0))
    sla_sweep(now=at(16))  # the on-commit announcement never runs: the task is "lost"
    assert refresh(complaint).escalation_level == 1
    assert escalation.complaints_escalate_missed_breaches(now=at(17)) == 1
    assert refresh(complaint).escalation_level == 2
    assert escalation.complaints_escalate_missed_breaches(now=at(18)) == 0
    assert refresh(complaint).escalation_level == 2


def test_breaches_of_other_tickets_queue_no_complaint_work():
    from unittest import mock

    from django.utils import timezone

    from complaints.receivers import on_sla_breached
    from complaints.tasks import complaint_escalate_for_breach_task

    with mock.patch.object(complaint_escalate_for_breach_task, "delay") as queued:
        for kind in ("inquiry", "order_issue", "return_refund"):
            on_sla_breached(
                None,
                ticket_id=1,
                ticket_kind=kind,
                clock_id=1,
                metric="first_response",
                at=timezone.now(),
            )
        queued.assert_not_called()
        on_sla_breached(
            None,
            ticket_id=1,
            ticket_kind="complaint",
            clock_id=1,
            metric="first_response",
            at=timezone.now(),
        )
        queued.assert_called_once()
