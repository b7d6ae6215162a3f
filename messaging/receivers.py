"""How the messaging app learns of changes: in the transaction of the change, so that the
outbox event commits or rolls back with it (``tickets.signals.ticket_event_recorded``,
``orders.signals.order_exception_recorded``, ``refunds.signals.refund_settled_recorded``).
Receivers write rows and nothing else; the deliveries and e-mails are sent after the commit.
"""

from django.dispatch import receiver

from orders.signals import order_exception_recorded
from refunds.signals import refund_settled_recorded
from tickets.choices import TicketEventType
from tickets.signals import ticket_event_recorded

from .choices import WebhookEventType
from .email_out import email_reply_queue
from .payloads import message_data, order_exception_data, refund_data, ticket_data
from .services import outbox_event_record

_TICKET_EVENT_TYPES = {
    TicketEventType.CREATED: WebhookEventType.TICKET_CREATED,
    TicketEventType.REPLIED: WebhookEventType.TICKET_MESSAGE_CREATED,
    TicketEventType.CUSTOMER_MESSAGE: WebhookEventType.TICKET_MESSAGE_CREATED,
    TicketEventType.STATUS: WebhookEventType.TICKET_STATUS_CHANGED,
    TicketEventType.REOPENED: WebhookEventType.TICKET_STATUS_CHANGED,
}


@receiver(ticket_event_recorded, dispatch_uid="messaging.outbox_on_ticket_event")
def outbox_on_ticket_event(sender, event, message=None, **kwargs):
    webhook_type = _TICKET_EVENT_TYPES.get(event.type)
    if webhook_type is None or (message is not None and message.internal):
        return  # internal notes never leave the desk
    if webhook_type == WebhookEventType.TICKET_MESSAGE_CREATED and message is None:
        return
    ticket = event.ticket
    data = {"ticket": ticket_data(ticket)}
    if webhook_type == WebhookEventType.TICKET_STATUS_CHANGED:
        data |= {"old_status": event.old_value, "new_status": event.new_value}
    elif message is not None:
        data["message"] = message_data(message)
    outbox_event_record(
        type=webhook_type,
        data=data,
        now=event.at,
        ordering_key=f"ticket:{ticket.pk}",
        message=message if webhook_type == WebhookEventType.TICKET_MESSAGE_CREATED else None,
        storefront__customers=ticket.customer_id,
    )


@receiver(ticket_event_recorded, dispatch_uid="messaging.email_on_ticket_reply")
def email_on_ticket_reply(sender, event, message=None, **kwargs):
    """An agent's public reply on an e-mail ticket leaves as e-mail (queued with the reply)."""
    if event.type == TicketEventType.REPLIED and message is not None:
        email_reply_queue(message=message, now=event.at)


@receiver(order_exception_recorded, dispatch_uid="messaging.outbox_on_order_exception")
def outbox_on_order_exception(sender, exception, **kwargs):
    outbox_event_record(
        type=WebhookEventType.ORDER_EXCEPTION_OPENED,
        data=order_exception_data(exception),
        now=exception.detected_at,
        ordering_key=f"order:{exception.order_id}",
        storefront_id=exception.order.storefront_id,
    )


@receiver(refund_settled_recorded, dispatch_uid="messaging.outbox_on_refund_settled")
def outbox_on_refund_settled(sender, refund, **kwargs):
    outbox_event_record(
        type=WebhookEventType.REFUND_SETTLED,
        data=refund_data(refund),
        now=refund.settled_at,
        ordering_key=f"order:{refund.order_id}",
        storefront__orders=refund.order_id,
    )
