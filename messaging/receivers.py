"""How the messaging app learns of changes: in the transaction of the change, so that the
outbox events and the customer notices commit or roll back with it
(``tickets.signals.ticket_event_recorded``, ``orders.signals.order_exception_recorded``,
``refunds.signals.refund_settled_recorded`` and ``return_updated_recorded``,
``complaints.signals.complaint_updated_recorded``, ``surveys.signals.survey_invitation_recorded``).
Receivers write rows and nothing else; the deliveries and e-mails are sent after the commit.
"""

from django.dispatch import receiver

from complaints.choices import ComplaintStatus
from complaints.signals import complaint_updated_recorded
from orders.choices import ExceptionType
from orders.signals import order_exception_recorded
from refunds.choices import ReturnStatus
from refunds.signals import refund_settled_recorded, return_updated_recorded
from surveys.signals import survey_invitation_recorded
from tickets.choices import TicketEventType, TicketStatus
from tickets.signals import ticket_event_recorded

from .choices import NoticeType, WebhookEventType
from .email_out import email_reply_queue
from .notices import Notice, amount_text, customer_notice_send
from .payloads import (
    complaint_data,
    message_data,
    order_exception_data,
    refund_data,
    return_data,
    survey_invitation_data,
    ticket_data,
)
from .services import outbox_event_record, webhook_subscribed

_TICKET_EVENT_TYPES = {
    TicketEventType.CREATED: WebhookEventType.TICKET_CREATED,
    TicketEventType.REPLIED: WebhookEventType.TICKET_MESSAGE_CREATED,
    TicketEventType.CUSTOMER_MESSAGE: WebhookEventType.TICKET_MESSAGE_CREATED,
    TicketEventType.STATUS: WebhookEventType.TICKET_STATUS_CHANGED,
    TicketEventType.REOPENED: WebhookEventType.TICKET_STATUS_CHANGED,
}

# The status a case enters → the notice the customer is sent.
_RETURN_NOTICES = {
    ReturnStatus.APPROVED: NoticeType.RETURN_APPROVED,
    ReturnStatus.REJECTED: NoticeType.RETURN_REJECTED,
}
_COMPLAINT_NOTICES = {
    ComplaintStatus.ACCEPTED: NoticeType.COMPLAINT_ACCEPTED,
    ComplaintStatus.PLAN_PROPOSED: NoticeType.COMPLAINT_PLAN_PROPOSED,
    ComplaintStatus.AWAITING_CONFIRMATION: NoticeType.COMPLAINT_AWAITING_CONFIRMATION,
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


@receiver(ticket_event_recorded, dispatch_uid="messaging.notice_on_ticket_solved")
def notice_on_ticket_solved(sender, event, **kwargs):
    if event.type != TicketEventType.STATUS or event.new_value != TicketStatus.SOLVED:
        return
    ticket = event.ticket
    if ticket.merged_into_id is not None:
        return  # a merged duplicate: the customer hears of the ticket it went into
    customer_notice_send(
        Notice(
            type=NoticeType.TICKET_SOLVED,
            key=f"ticket_event:{event.pk}",
            customer=ticket.customer,
            ticket=ticket,
            order=ticket.order,
            now=event.at,
        )
    )


@receiver(order_exception_recorded, dispatch_uid="messaging.outbox_on_order_exception")
def outbox_on_order_exception(sender, exception, **kwargs):
    outbox_event_record(
        type=WebhookEventType.ORDER_EXCEPTION_OPENED,
        data=order_exception_data(exception),
        now=exception.detected_at,
        ordering_key=f"order:{exception.order_id}",
        storefront_id=exception.order.storefront_id,
    )
    order = exception.order
    customer_notice_send(
        Notice(
            type=NoticeType.ORDER_EXCEPTION_OPENED,
            key=f"order_exception:{exception.pk}",
            customer=order.customer,
            order=order,
            now=exception.detected_at,
            # The label, translated into the notice's language when it renders.
            values={"reason": dict(ExceptionType.choices).get(exception.type, exception.type)},
        )
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
    request = refund.request
    order = refund.order
    customer_notice_send(
        Notice(
            type=NoticeType.RETURN_REFUNDED,
            key=f"refund:{refund.pk}",
            customer=order.customer,
            ticket=request.ticket if request is not None else None,
            order=order,
            now=refund.settled_at,
            values={
                "return.number": request.public_id if request is not None else "",
                "amount": amount_text(refund.amount, refund.currency),
            },
            references={"return_id": request.public_id if request is not None else None},
        )
    )


@receiver(return_updated_recorded, dispatch_uid="messaging.outbox_on_return_updated")
def outbox_on_return_updated(sender, request, moves, **kwargs):
    now = moves[-1].at
    # The representation is read afresh (queries): only for a storefront that listens.
    if webhook_subscribed(
        type=WebhookEventType.RETURN_UPDATED, storefront__orders=request.order_id
    ):
        outbox_event_record(
            type=WebhookEventType.RETURN_UPDATED,
            data=return_data(request),
            now=now,
            # The order's key, as the refund's settlement: the storefront hears of a refund
            # after the return moved to refunded.
            ordering_key=f"order:{request.order_id}",
            storefront__orders=request.order_id,
        )
    for move in moves:
        notice_type = _RETURN_NOTICES.get(move.new)
        if notice_type is None:
            continue
        order = request.order
        customer_notice_send(
            Notice(
                type=notice_type,
                key=f"return_event:{move.event.pk}",
                customer=order.customer,
                ticket=request.ticket,
                order=order,
                now=move.at,
                values={
                    "return.number": request.public_id,
                    "amount": amount_text(request.requested_amount, order.currency),
                    "reason": request.decision_reason,
                },
                references={"return_id": request.public_id},
            )
        )


@receiver(complaint_updated_recorded, dispatch_uid="messaging.outbox_on_complaint_updated")
def outbox_on_complaint_updated(sender, complaint, moves, **kwargs):
    if webhook_subscribed(
        type=WebhookEventType.COMPLAINT_UPDATED, storefront__customers=complaint.customer_id
    ):
        outbox_event_record(
            type=WebhookEventType.COMPLAINT_UPDATED,
            data=complaint_data(complaint),
            now=moves[-1].at,
            ordering_key=f"ticket:{complaint.ticket_id}"
            if complaint.ticket_id
            else f"complaint:{complaint.pk}",
            storefront__customers=complaint.customer_id,
        )
    for move in moves:
        notice_type = _COMPLAINT_NOTICES.get(move.new)
        if notice_type is None:
            continue
        customer_notice_send(
            Notice(
                type=notice_type,
                key=f"complaint_event:{move.event.pk}",
                customer=complaint.customer,
                ticket=complaint.ticket,
                order=complaint.order,
                now=move.at,
                values={"complaint.number": complaint.number, "plan": complaint.plan},
                references={"complaint_number": complaint.number},
            )
        )


@receiver(survey_invitation_recorded, dispatch_uid="messaging.outbox_on_survey_invitation")
def outbox_on_survey_invitation(sender, invitation, token, url, **kwargs):
    if not webhook_subscribed(
        type=WebhookEventType.SURVEY_INVITATION_CREATED,
        storefront__customers=invitation.customer_id,
    ):
        return
    if invitation.ticket_id:
        ordering_key = f"ticket:{invitation.ticket_id}"
    else:
        ordering_key = f"order:{invitation.order_id}" if invitation.order_id else ""
    outbox_event_record(
        type=WebhookEventType.SURVEY_INVITATION_CREATED,
        data=survey_invitation_data(invitation, token=token, url=url),
        now=invitation.sent_at,
        ordering_key=ordering_key,
        storefront__customers=invitation.customer_id,
    )
