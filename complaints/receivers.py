"""What complaints do when the tickets app announces something (connected in apps.py)."""

from __future__ import annotations

from csplatform.enqueue import enqueue

from .escalation import ESCALATING_METRICS
from .tasks import complaint_escalate_for_breach_task


def on_sla_breached(sender, *, ticket_id: int, clock_id: int, metric: str, at, **kwargs) -> None:
    """A complaint timer breached: raise the complaint's escalation level, once per clock.

    The sweeper sends this after its commit for every breach; only the complaint timers
    matter here, and the task is idempotent (keyed by the clock id).
    """
    if metric not in ESCALATING_METRICS or kwargs.get("ticket_kind", "complaint") != "complaint":
        return
    enqueue(complaint_escalate_for_breach_task, ticket_id, clock_id, metric, at.isoformat())
