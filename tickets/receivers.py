"""How the tickets app reacts to other apps' events (sent after their commit)."""

from django.dispatch import receiver

from csplatform.enqueue import enqueue
from orders.signals import order_exception_raised

from .tasks import ticket_open_for_order_exception_task


@receiver(order_exception_raised, dispatch_uid="tickets.open_for_order_exception")
def open_ticket_for_order_exception(sender, exception_id: int, **kwargs) -> None:
    enqueue(ticket_open_for_order_exception_task, exception_id)
