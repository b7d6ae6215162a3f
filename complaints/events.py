"""The complaint's timeline: one row per change, by whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csplatform.actors import Actor

from .models import Complaint, ComplaintEvent


def complaint_event_record(
    *,
    complaint: Complaint,
    type: str,
    actor: Actor,
    now: datetime,
    field: str = "",
    old: object = "",
    new: object = "",
    reason: str = "",
    sla_clock_id: int | None = None,
    **payload: Any,
) -> ComplaintEvent:
    """One row of the complaint's timeline; ``field``, ``old`` and ``new`` for a change of a
    field, ``sla_clock_id`` for an escalation a breached timer made (unique: once per clock)."""
    return ComplaintEvent.objects.create(
        complaint=complaint,
        type=type,
        field=field,
        old_value=str(old if old is not None else "")[:200],
        new_value=str(new if new is not None else "")[:200],
        reason=reason[:1000],
        payload=payload,
        sla_clock_id=sla_clock_id,
        at=now,
        **actor.event_fields(),
    )
