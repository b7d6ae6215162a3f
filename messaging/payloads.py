"""The ``data`` of each webhook event: the shapes of the storefront's GET endpoints.

Built inside the transaction of the change, from the rows as they are then; what a storefront
never sees (internal notes, agents' names, priority) is never in them.
"""

from __future__ import annotations

from rest_framework import serializers

from orders.api.serializers import OrderExceptionOutputSerializer
from refunds.api.serializers import RefundPublicSerializer
from tickets.api.serializers import StorefrontTicketListSerializer

_datetime = serializers.DateTimeField()


def ticket_data(ticket) -> dict:
    return dict(StorefrontTicketListSerializer(ticket).data)


def message_data(message) -> dict:
    # The message as the storefront's ticket endpoint shows it, without attachments: they are
    # stored after the message's event, and are fetched from the ticket.
    return {
        "author": message.author_kind,
        "body": message.body,
        "channel": message.channel,
        "created_at": _datetime.to_representation(message.created_at),
    }


def order_exception_data(exception) -> dict:
    return {
        "order_number": exception.order.number,
        **OrderExceptionOutputSerializer(exception).data,
    }


def refund_data(refund) -> dict:
    # The refund as the return's GET shows it (no provider reference, no errors), with the
    # order and the return request it belongs to.
    return {
        "order_number": refund.order.number,
        "return_id": refund.request.public_id if refund.request_id else None,
        **RefundPublicSerializer(refund).data,
    }
