"""Thin Celery tasks for payouts and the return timers."""

from celery import shared_task

from . import payouts, services, timers
from .gateways import GatewayUnavailable


@shared_task(
    bind=True,
    autoretry_for=(GatewayUnavailable,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=payouts.MAX_PAYOUT_ATTEMPTS,
)
def refund_payout_task(self, refund_id: int) -> str:
    return payouts.refund_payout(refund_id=refund_id).status


@shared_task
def returns_timers_task() -> dict:
    return timers.returns_timers_run()


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def return_ticket_solve_task(request_id: int) -> str | None:
    return services.return_ticket_solve(request_id=request_id)
