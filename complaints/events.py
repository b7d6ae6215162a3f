"""The complaint's timeline: one row per change, by whom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from csplatform.actors import Actor
from csplatform.lifecycle import Transition

from .models import Complaint, ComplaintEvent
from .signals import complaint_updated_recorded


def complaint_event_values(
    type: str,
    *,
    field: str = "",
    old: object = "",
    new: object = "",
    reason: str = "",
    sla_clock_id: int | None = None,
    **payload: Any,
) -> dict[str, Any]:
    """A timeline row's values, shaped once for the services and the demo data: ``field``,
    ``old`` and ``new`` for a change of a field (as text cut to their columns, ``None`` as
    empty), ``sla_clock_id`` for an escalation a breached timer made; the rest is the payload."""
    return {
        "type": type,
        "field": field,
        "old_value": str(old if old is not None else "")[:200],
        "new_value": str(new if new is not None else "")[:200],
        "reason": reason[:1000],
        "payload": payload,
        "sla_clock_id": sla_clock_id,
    }


def complaint_event_record(
    *, complaint: Complaint, type: str, actor: Actor, now: datetime, **fields: Any
) -> ComplaintEvent:
    """One row of the complaint's timeline (unique per clock for an escalation); ``fields``:
    those of ``complaint_event_values``."""
    values = complaint_event_values(type, **fields)
    return ComplaintEvent.objects.create(
        complaint=complaint, at=now, **values, **actor.event_fields()
    )


def complaint_moves_announce(*, complaint: Complaint, moves: Sequence[Transition | None]) -> None:
    """Tell the in-transaction listeners (``complaint_updated_recorded``) of the moves a
    service made, once it wrote the complaint for the last time; no move, nothing is sent."""
    made = [move for move in moves if move is not None]
    if made:
        complaint_updated_recorded.send(sender=Complaint, complaint=complaint, moves=made)
