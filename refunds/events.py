"""The return request's timeline: one row per thing that happened to it, by whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csplatform.actors import Actor

from .models import ReturnEvent, ReturnRequest


def return_event_record(
    *,
    request: ReturnRequest,
    type: str,
    actor: Actor,
    now: datetime,
    reason: str = "",
    **payload: Any,
) -> ReturnEvent:
    """An event that leaves the status as it is (a status change records its own, in
    ``transitions``)."""
    return ReturnEvent.objects.create(
        request=request,
        type=type,
        old_status=request.status,
        new_status=request.status,
        reason=reason[:500],
        payload=payload,
        at=now,
        **actor.event_fields(),
    )
