"""How the surveys app reacts to other apps' events (all sent after their commit).

Each receiver only queues a thin task; the services read the current rows, so a repeated or
late signal changes nothing. No sweep schedules a survey whose task was lost, so a task the
broker refuses is run in place (``enqueue_or_run``).
"""

from django.dispatch import receiver

from complaints.signals import complaint_closed
from csplatform.enqueue import enqueue_or_run
from orders.choices import OrderStatus
from orders.signals import order_status_changed
from tickets.choices import TicketStatus
from tickets.signals import ticket_status_changed

from .tasks import survey_complaint_schedule_task, survey_csat_sync_task, survey_nps_schedule_task


@receiver(ticket_status_changed, dispatch_uid="surveys.csat_on_ticket_status")
def csat_on_ticket_status(sender, ticket_id: int, old_status: str, new_status: str, **kwargs):
    # Solving schedules the survey; leaving "solved" (a reopen) cancels it; closing a merged
    # duplicate cancels it too.
    if TicketStatus.SOLVED in (old_status, new_status) or new_status == TicketStatus.CLOSED:
        enqueue_or_run(survey_csat_sync_task, ticket_id)


@receiver(order_status_changed, dispatch_uid="surveys.nps_on_order_completed")
def nps_on_order_completed(sender, order_id: int, new_status: str, at, **kwargs):
    if new_status == OrderStatus.COMPLETED:
        enqueue_or_run(survey_nps_schedule_task, order_id, at.isoformat())


@receiver(complaint_closed, dispatch_uid="surveys.satisfaction_on_complaint_closed")
def satisfaction_on_complaint_closed(sender, complaint_id: int, at, **kwargs):
    enqueue_or_run(survey_complaint_schedule_task, complaint_id, at.isoformat())
