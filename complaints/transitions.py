"""The complaint lifecycle as data, and the one function that applies it.

``received → accepted (受理) → investigating → plan_proposed → awaiting_confirmation →
resolved → closed``. The customer rejecting the outcome sends ``awaiting_confirmation`` back
to ``investigating``; a closed complaint reopens to ``investigating`` (within the reopen
window, checked by the service).
"""

from __future__ import annotations

from datetime import datetime

from csplatform.actors import Actor
from csplatform.lifecycle import Lifecycle, StatusEvents, Transition, TransitionNotAllowed

from .choices import ComplaintEventType, ComplaintStatus
from .models import Complaint, ComplaintEvent

S = ComplaintStatus

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.ACCEPTED}),
    S.ACCEPTED: frozenset({S.INVESTIGATING}),
    S.INVESTIGATING: frozenset({S.PLAN_PROPOSED}),
    S.PLAN_PROPOSED: frozenset({S.AWAITING_CONFIRMATION}),
    S.AWAITING_CONFIRMATION: frozenset({S.RESOLVED, S.INVESTIGATING}),
    S.RESOLVED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.INVESTIGATING}),
}


class ComplaintTransitionNotAllowed(TransitionNotAllowed):
    subject = "A complaint"


# A status move is the complaint event of the field ``status``.
STATUS_EVENTS = StatusEvents(
    ComplaintEvent,
    row="complaint",
    old="old_value",
    new="new_value",
    type=ComplaintEventType.STATUS,
    constant={"field": "status"},
)
LIFECYCLE = Lifecycle(
    model=Complaint,
    table=ALLOWED_TRANSITIONS,
    error=ComplaintTransitionNotAllowed,
    record=STATUS_EVENTS,
    touched="updated_at",
)
allowed_next = LIFECYCLE.allowed_next
check_transition = LIFECYCLE.check


def complaint_apply_transition(
    *, complaint: Complaint, target: str, actor: Actor, now: datetime, **details
) -> Transition:
    """Move a row-locked complaint to ``target`` and record who, when and why: ``reason``,
    ``event_type`` (a reopen), ``payload`` (the plan proposed).

    The caller saves the complaint, with the other fields it changed, in its transaction, then
    announces the move (``events.complaint_moves_announce``).
    """
    return LIFECYCLE.apply(complaint, target, actor=actor, at=now, **details)
