"""The return request lifecycle as data, and the one function that applies it."""

from __future__ import annotations

from datetime import datetime

from csplatform.actors import Actor
from csplatform.enqueue import enqueue_or_run_on_commit
from csplatform.errors import ConflictError

from .choices import ReturnStatus
from .models import ReturnEvent

S = ReturnStatus

# A request in one of these statuses needs nothing more from the desk: its ticket is solved.
ENDED = frozenset({S.REFUNDED, S.EXCHANGED, S.CANCELLED, S.CLOSED})

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.REQUESTED: frozenset({S.APPROVED, S.REJECTED, S.CANCELLED}),
    S.APPROVED: frozenset({S.AWAITING_RETURN, S.REFUNDED, S.CANCELLED}),
    S.AWAITING_RETURN: frozenset({S.RECEIVED, S.CANCELLED, S.CLOSED}),
    S.RECEIVED: frozenset({S.INSPECTED}),
    S.INSPECTED: frozenset({S.REFUNDED, S.EXCHANGED, S.REJECTED}),
    S.REJECTED: frozenset({S.REQUESTED, S.CLOSED}),
    S.REFUNDED: frozenset({S.CLOSED}),
    S.EXCHANGED: frozenset({S.CLOSED}),
    S.CANCELLED: frozenset(),
    S.CLOSED: frozenset(),
}


class ReturnTransitionNotAllowed(ConflictError):
    code = "invalid_transition"

    def __init__(self, current: str, target: str):
        super().__init__(
            f"A return request in status '{current}' cannot move to '{target}'.",
            current_status=current,
            requested_status=target,
            allowed=sorted(ALLOWED_TRANSITIONS[current]),
        )


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise ReturnTransitionNotAllowed(current, target)


def return_apply_transition(
    *,
    request,
    target: str,
    actor: Actor,
    now: datetime,
    reason: str = "",
    event_type: str = "status",
    payload: dict | None = None,
):
    """Move a row-locked return request to ``target`` and record who, when and why."""
    current = request.status
    check_transition(current, target)
    request.status = target
    request.updated_at = now
    ReturnEvent.objects.create(
        request=request,
        type=event_type,
        old_status=current,
        new_status=target,
        reason=reason[:500],
        payload=payload or {},
        at=now,
        **actor.event_fields(),
    )
    if target in ENDED and request.ticket_id:
        # Nothing sweeps for it: with no broker, the ticket is solved right after the commit.
        enqueue_or_run_on_commit("refunds.tasks.return_ticket_solve_task", request.pk)
