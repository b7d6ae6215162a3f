"""The ticket lifecycle as data, and the one function that applies it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from csplatform.actors import Actor
from csplatform.errors import ConflictError

from .choices import TicketEventType, TicketStatus
from .events import ticket_event_record
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


class TicketTransitionNotAllowed(ConflictError):
    code = "invalid_transition"

    def __init__(self, current: str, target: str):
        super().__init__(
            f"A ticket in status '{current}' cannot move to '{target}'.",
            current_status=current,
            requested_status=target,
            allowed=sorted(ALLOWED_TRANSITIONS[current]),
        )


def allowed_next(status: str) -> list[str]:
    return sorted(ALLOWED_TRANSITIONS[status])


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise TicketTransitionNotAllowed(current, target)


def transition_changes(
    *, current: str, target: str, now: object, reopen_count: int
) -> dict[str, object]:
    """The ticket fields a transition sets: status, timestamps, reopen count (plain values, so
    the demo seeder moves its tickets by the same table)."""
    check_transition(current, target)
    changes: dict[str, object] = {"status": target}
    if target == S.SOLVED:
        changes["solved_at"] = now
    elif target == S.CLOSED:
        changes["closed_at"] = now
    elif current == S.SOLVED:
        changes.update(reopen_count=reopen_count + 1, solved_at=None)
    return changes


def transition_event_type(current: str, target: str) -> str:
    # Only solved → open is a reopen; solved → closed is the ordinary end of the ticket.
    reopened = current == S.SOLVED and target == S.OPEN
    return TicketEventType.REOPENED if reopened else TicketEventType.STATUS


def ticket_apply_transition(*, ticket, target: str, actor: Actor, now: datetime) -> None:
    """Move a row-locked ticket to ``target``: timestamps, reopen count, one event row.

    The caller holds the ticket's row lock inside a transaction and saves the ticket.
    """
    current = ticket.status
    changes = transition_changes(
        current=current, target=target, now=now, reopen_count=ticket.reopen_count
    )
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket_event_record(
        ticket=ticket,
        type=transition_event_type(current, target),
        old=current,
        new=target,
        actor=actor,
        now=now,
    )
    ticket_id = ticket.pk
    transaction.on_commit(
        lambda: ticket_status_changed.send(
            sender=type(ticket), ticket_id=ticket_id, old_status=current, new_status=target, at=now
        )
    )
