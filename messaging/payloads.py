"""The ``data`` of each webhook event: the shapes of the storefront's GET endpoints.

Built inside the transaction of the change, from the rows as they are then; what a storefront
never sees (internal notes, agents' names, priority) is never in them.
"""

from __future__ import annotations

from rest_framework import serializers

from complaints.api.serializers import complaint_storefront_data
from orders.api.serializers import OrderExceptionOutputSerializer
from refunds.api.serializers import RefundPublicSerializer, return_storefront_data
from surveys.api.serializers import SurveyLinkSerializer
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


def return_data(request) -> dict:
    # As the storefront's GET shows it, read again: the service has written it for the last
    # time when it announces the change.
    return return_storefront_data(request.public_id)


def complaint_data(complaint) -> dict:
    return complaint_storefront_data(complaint.number)


def survey_invitation_data(invitation, *, token: str, url: str) -> dict:
    """The invitation as the storefront's survey-link lookup shows it, with what it is about."""
    link = SurveyLinkSerializer(
        {
            "kind": invitation.kind,
            "status": invitation.status,
            "token": token,
            "url": url,
            "language": invitation.language,
            "sent_at": invitation.sent_at,
            "expires_at": invitation.expires_at,
            "answered": False,
        }
    ).data
    return {
        **link,
        "customer": {"external_id": invitation.customer.external_id},
        "ticket_number": invitation.ticket.number if invitation.ticket_id else None,
        "order_number": invitation.order.number if invitation.order_id else None,
        "complaint_number": invitation.complaint_number or None,
    }
