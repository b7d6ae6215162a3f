"""The ticket's timeline: one row per change, by whom, announced to the apps that react."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csplatform.actors import Actor

from .models import Message, Ticket, TicketEvent
from .signals import ticket_event_recorded


def ticket_event_values(
    type: str, *, old: object = "", new: object = "", payload: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A timeline row's values, shaped once for the services and the demo data (old and new
    as text cut to their columns, ``None`` as empty)."""
    return {
        "type": type,
        "old_value": str(old or "")[:200],
        "new_value": str(new or "")[:200],
        "payload": payload or {},
    }


def ticket_event_record(
    *,
    ticket: Ticket,
    type: str,
    actor: Actor,
    now: datetime,
    old: str | None = "",
    new: str | None = "",
    payload: dict[str, Any] | None = None,
    message: Message | None = None,
) -> TicketEvent:
    """Write an event row of the ticket; ``message``: the message the event records (a new
    ticket's first message, a reply, a note, a customer message), for the receivers of
    ``ticket_event_recorded``."""
    values = ticket_event_values(type, old=old, new=new, payload=payload)
    event = TicketEvent.objects.create(ticket=ticket, at=now, **values, **actor.event_fields())
    ticket_event_recorded.send(sender=TicketEvent, event=event, message=message)
    return event
