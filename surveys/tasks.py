"""Thin Celery tasks: load by id, call a service."""

from dataclasses import asdict

from celery import shared_task

from . import services
from .sweeper import surveys_sweep


@shared_task
def surveys_sweep_task() -> dict:
    return asdict(surveys_sweep())


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def survey_csat_sync_task(ticket_id: int) -> None:
    services.survey_csat_sync(ticket_id=ticket_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def survey_nps_schedule_task(order_id: int, completed_at: str) -> None:
    from datetime import datetime

    services.survey_nps_schedule(
        order_id=order_id, completed_at=datetime.fromisoformat(completed_at)
    )


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def survey_complaint_schedule_task(complaint_id: int, closed_at: str) -> None:
    from datetime import datetime

    services.survey_complaint_schedule(
        complaint_id=complaint_id, closed_at=datetime.fromisoformat(closed_at)
    )


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def survey_invitation_deliver_task(invitation_id: int) -> bool:
    return services.survey_invitation_deliver(invitation_id=invitation_id)


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def survey_follow_up_open_task(response_id: int) -> str | None:
    ticket = services.survey_follow_up_open(response_id=response_id)
    return ticket.number if ticket else None
