"""The complaint lifecycle as data, and the one function that applies it.

``received → accepted (受理) → investigating → plan_proposed → awaiting_confirmation →
resolved → closed``. The customer rejecting the outcome sends ``awaiting_confirmation`` back
to ``investigating``; a closed complaint reopens to ``investigating`` (within the reopen
window, checked by the service).
"""

from __future__ import annotations

from datetime import datetime

from csplatform.actors import Actor
from csplatform.errors import ConflictError

from .choices import ComplaintStatus
from .models import ComplaintEvent

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


def allowed_next(current: str) -> list[str]:
    return [s for s in S.values if s in ALLOWED_TRANSITIONS[current]]


class ComplaintTransitionNotAllowed(ConflictError):
    code = "invalid_transition"

    def __init__(self, current: str, target: str):
        super().__init__(
            f"A complaint in status '{current}' cannot move to '{target}'.",
            current_status=current,
            requested_status=target,
            allowed=allowed_next(current),
        )


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise ComplaintTransitionNotAllowed(current, target)


def complaint_apply_transition(
    *,
    complaint,
    target: str,
    actor: Actor,
    now: datetime,
    reason: str = "",
    event_type: str = "status",
    payload: dict | None = None,
):
    """Move a row-locked complaint to ``target`` and record who, when and why.

    The caller saves the complaint (with the other fields it changed) in its transaction.
    """
    current = complaint.status
    check_transition(current, target)
    complaint.status = target
    complaint.updated_at = now
    ComplaintEvent.objects.create(
        complaint=complaint,
        type=event_type,
        field="status",
        old_value=current,
        new_value=target,
        reason=reason[:1000],
        payload=payload or {},
        at=now,
        **actor.event_fields(),
    )
