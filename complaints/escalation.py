"""Complaint escalation: the levels, who hears about each, and the raise a breached
complaint timer makes (once per breached clock, caught up when its signal was lost).

Escalation levels and who hears about them (``level_people``):

1. agent — the ticket's assignee;
2. senior agent — the members of the ticket's team flagged as senior agents in admin
   (``SeniorAgent``); the team supervisor when the team has none;
3. supervisor — the supervisor of the ticket's team;
4. manager — the active users with the admin role.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.roles import ADMIN
from tickets.choices import SlaMetric, TicketKind
from tickets.models import SlaClock
from tickets.notifications import notify
from tickets.services import ticket_system_change

from .choices import ComplaintEventType, ComplaintStatus, EscalationLevel
from .events import complaint_event_record
from .models import Complaint, ComplaintEvent, SeniorAgent
from .transitions import LIFECYCLE

# The SLA timers of a complaint ticket whose breach raises the escalation level.
ESCALATING_METRICS = (SlaMetric.FIRST_RESPONSE, SlaMetric.ACCEPTANCE, SlaMetric.PLAN)
if TYPE_CHECKING:
    from django.contrib.auth.models import User
else:
    User = get_user_model()


def level_people(complaint: Complaint, level: int) -> list:
    """Who handles the complaint at ``level`` (see the module docstring)."""
    ticket = complaint.ticket
    team = ticket.team if ticket is not None else None
    supervisor = team.supervisor if team is not None else None
    if level <= EscalationLevel.AGENT:
        return [ticket.assignee] if ticket is not None and ticket.assignee_id else []
    if level == EscalationLevel.SENIOR_AGENT:
        seniors = (
            list(
                User.objects.filter(
                    is_active=True,
                    teams=team,
                    pk__in=SeniorAgent.objects.values("user_id"),
                ).order_by("id")
            )
            if team is not None
            else []
        )
        return seniors or ([supervisor] if supervisor else [])
    if level == EscalationLevel.SUPERVISOR:
        return [supervisor] if supervisor else []
    return list(
        User.objects.filter(is_active=True)
        .filter(Q(groups__name=ADMIN) | Q(is_superuser=True))
        .distinct()
        .order_by("id")
    )


def complaint_level_raise(
    complaint: Complaint,
    *,
    reason: str,
    actor: Actor,
    now: datetime,
    level: int | None = None,
    sla_clock_id: int | None = None,
    metric: str = "",
) -> None:
    """Raise the level (to ``level``, else one up, at most 4) and tell that level's people.
    At the top level an escalation is still recorded and the managers are told again. The
    caller holds the complaint's lock and saves it."""
    old = complaint.escalation_level
    new = min(level if level is not None else old + 1, EscalationLevel.MANAGER)
    complaint.escalation_level = max(new, old)
    complaint_event_record(
        complaint=complaint,
        type=ComplaintEventType.ESCALATED,
        actor=actor,
        now=now,
        field="escalation_level",
        old=old,
        new=complaint.escalation_level,
        reason=reason,
        sla_clock_id=sla_clock_id,
        metric=metric,
    )
    if complaint.ticket is None:
        return
    notify(
        users=level_people(complaint, complaint.escalation_level),
        ticket=complaint.ticket,
        kind="complaint_escalation",
        now=now,
        complaint=complaint.number,
        level=complaint.escalation_level,
        reason=reason,
    )
    ticket_system_change(
        ticket=complaint.ticket,
        actor=actor,
        note=_("Complaint escalated to level %(level)d (%(label)s): %(reason)s")
        % {
            "level": complaint.escalation_level,
            "label": EscalationLevel(complaint.escalation_level).label,
            "reason": reason,
        },
        now=now,
    )


def complaint_escalate_for_breach(
    *, ticket_id: int, clock_id: int, metric: str, now: datetime | None = None
) -> Complaint | None:
    """A complaint timer of the ticket breached: one level up, once per breached clock
    (the event row's unique clock id makes a repeated call a no-op)."""
    now = now or timezone.now()
    if metric not in ESCALATING_METRICS:
        return None
    with transaction.atomic():
        complaint = LIFECYCLE.lock_if(ticket_id=ticket_id)
        if complaint is None or not complaint.is_open:
            return complaint
        if ComplaintEvent.objects.filter(sla_clock_id=clock_id).exists():
            return complaint
        complaint_level_raise(
            complaint,
            reason=f"{metric.replace('_', ' ')} timer breached",
            actor=Actor.system("SLA"),
            now=now,
            sla_clock_id=clock_id,
            metric=metric,
        )
        complaint.updated_at = now
        complaint.save()
        return complaint


# Breaches announced while no worker ran are caught up from the clocks themselves.
CATCH_UP_WINDOW = timedelta(days=3)


def complaints_escalate_missed_breaches(*, now: datetime | None = None, limit: int = 200) -> int:
    """Escalate for the complaint timers that breached without their escalation (the signal's
    task was lost: a worker crashed, the broker restarted). Returns how many were caught up."""
    now = now or timezone.now()
    escalated = ComplaintEvent.objects.filter(sla_clock_id__isnull=False).values("sla_clock_id")
    missed = list(
        SlaClock.objects.filter(
            metric__in=ESCALATING_METRICS,
            breached_at__isnull=False,
            breached_at__gte=now - CATCH_UP_WINDOW,
            breached_at__lte=now,
            ticket__kind=TicketKind.COMPLAINT,
            ticket__complaint__isnull=False,
        )
        .exclude(ticket__complaint__status=ComplaintStatus.CLOSED)
        .exclude(pk__in=escalated)
        .order_by("breached_at", "id")
        .values_list("ticket_id", "id", "metric")[:limit]
    )
    for ticket_id, clock_id, metric in missed:
        complaint_escalate_for_breach(
            ticket_id=ticket_id, clock_id=clock_id, metric=metric, now=now
        )
    return len(missed)
