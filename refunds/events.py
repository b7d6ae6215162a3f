"""The return request's timeline: one row per thing that happened to it, by whom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from csplatform.actors import Actor
from csplatform.lifecycle import Transition

from .models import ReturnEvent, ReturnRequest
from .signals import return_updated_recorded


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


def return_moves_announce(*, request: ReturnRequest, moves: Sequence[Transition | None]) -> None:
    """Tell the in-transaction listeners (``return_updated_recorded``) of the moves a service
    made, once it wrote the request for the last time; no move, nothing is sent."""
    made = [move for move in moves if move is not None]
    if made:
        return_updated_recorded.send(sender=ReturnRequest, request=request, moves=made)
