"""Thin Celery tasks: load by id, call a service."""

from datetime import datetime

from celery import shared_task

from . import escalation, services


@shared_task
def complaint_escalate_for_breach_task(
    ticket_id: int, clock_id: int, metric: str, at: str
) -> str | None:
    complaint = escalation.complaint_escalate_for_breach(
        ticket_id=ticket_id, clock_id=clock_id, metric=metric, now=datetime.fromisoformat(at)
    )
    return complaint.number if complaint is not None else None


@shared_task
def complaints_close_unconfirmed_task() -> int:
    return services.complaints_close_unconfirmed()


@shared_task
def complaints_escalate_missed_breaches_task() -> int:
    return escalation.complaints_escalate_missed_breaches()
