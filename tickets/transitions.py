"""The ticket lifecycle as data, and the one function that applies it."""

from __future__ import annotations

from datetime import datetime

from csplatform.actors import Actor
from csplatform.lifecycle import Lifecycle, Transition, TransitionNotAllowed

from .choices import TicketEventType, TicketStatus
from .events import ticket_event_record
from .models import Ticket
from .signals import ticket_status_changed

S = TicketStatus

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED}),
    S.SOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}


class TicketTransitionNotAllowed(TransitionNotAllowed):
    subject = "A ticket"


def _reopens(old: str, new: str) -> bool:
    # Only solved → open is a reopen; solved → closed is the ordinary end of the ticket.
    return old == S.SOLVED and new == S.OPEN


def _reopen(move: Transition) -> list[str]:
    if not _reopens(move.old, move.new):
        return []
    move.row.reopen_count += 1
    move.row.solved_at = None
    return ["reopen_count", "solved_at"]


def transition_event_type(current: str, target: str) -> str:
    return TicketEventType.REOPENED if _reopens(current, target) else TicketEventType.STATUS


def _record(move: Transition):
    return ticket_event_record(
        ticket=move.row,
        type=transition_event_type(move.old, move.new),
        old=move.old,
        new=move.new,
        actor=move.actor,
        now=move.at,
    )


LIFECYCLE = Lifecycle(
    model=Ticket,
    table=ALLOWED_TRANSITIONS,
    error=TicketTransitionNotAllowed,
    timestamps={S.SOLVED: "solved_at", S.CLOSED: "closed_at"},
    changes=_reopen,
    record=_record,
    announce=ticket_status_changed,
)
allowed_next = LIFECYCLE.allowed_next
check_transition = LIFECYCLE.check


def transition_changes(
    *, current: str, target: str, now: object, reopen_count: int
) -> dict[str, object]:
    """The ticket fields a transition sets: status, timestamps, reopen count (plain values, so
    the demo seeder moves its tickets by the same lifecycle as ``ticket_apply_transition``)."""
    check_transition(current, target)
    changes: dict[str, object] = {LIFECYCLE.field: target}
    if target in LIFECYCLE.timestamps:
        changes[LIFECYCLE.timestamps[target]] = now
    if _reopens(current, target):
        changes.update(reopen_count=reopen_count + 1, solved_at=None)
    return changes


def ticket_apply_transition(*, ticket: Ticket, target: str, actor: Actor, now: datetime) -> None:
    """Move a row-locked ticket to ``target``: timestamps, reopen count, one event row.

    The caller holds the ticket's row lock inside a transaction and saves the ticket.
    """
    LIFECYCLE.apply(ticket, target, actor=actor, at=now)
