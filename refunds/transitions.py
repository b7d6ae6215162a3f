"""The return request lifecycle as data, and the one function that applies it."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from csplatform.actors import Actor
from csplatform.enqueue import enqueue_or_run
from csplatform.lifecycle import Lifecycle, StatusEvents, Transition, TransitionNotAllowed

from .choices import ReturnEventType, ReturnStatus
from .models import ReturnEvent, ReturnRequest

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


class ReturnTransitionNotAllowed(TransitionNotAllowed):
    subject = "A return request"


def _ticket_solve(move: Transition) -> list:
    request = move.row
    if move.new not in ENDED or not request.ticket_id:
        return []
    # Nothing sweeps for it: with no broker, the ticket is solved right after the commit.
    return [partial(enqueue_or_run, "refunds.tasks.return_ticket_solve_task", request.pk)]


LIFECYCLE = Lifecycle(
    model=ReturnRequest,
    table=ALLOWED_TRANSITIONS,
    error=ReturnTransitionNotAllowed,
    record=StatusEvents(
        ReturnEvent, row="request", old="old_status", new="new_status", type=ReturnEventType.STATUS
    ),
    touched="updated_at",
    effects=_ticket_solve,
)
allowed_next = LIFECYCLE.allowed_next
check_transition = LIFECYCLE.check


def return_apply_transition(
    *, request: ReturnRequest, target: str, actor: Actor, now: datetime, **details
) -> Transition:
    """Move a row-locked return request to ``target`` and record who, when and why
    (``reason``, ``event_type``, ``payload``); the caller saves the request, then announces
    the move (``events.return_moves_announce``)."""
    return LIFECYCLE.apply(request, target, actor=actor, at=now, **details)
