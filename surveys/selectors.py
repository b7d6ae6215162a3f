"""Reads shared by the public page, the API and the admin."""

from __future__ import annotations

from .choices import InvitationStatus
from .models import SurveyInvitation
from .tokens import token_hash

# Invitations whose link has gone out: only these answer to a token.
LINK_SENT = (InvitationStatus.SENT, InvitationStatus.ANSWERED, InvitationStatus.EXPIRED)


def invitation_by_token(token: str) -> SurveyInvitation | None:
    """The invitation a presented token opens; ``None`` alike for a wrong token and for one
    whose survey was never sent (cancelled, skipped), so nobody learns which existed."""
    hashed = token_hash(token)
    if hashed is None:
        return None
    return (
        SurveyInvitation.objects.select_related("response")
        .filter(token_hash=hashed, status__in=LINK_SENT, sent_at__isnull=False)
        .first()
    )


def invitation_for_subject(
    *,
    storefront,
    ticket_number: str = "",
    order_number: str = "",
    complaint_number: str = "",
) -> SurveyInvitation | None:
    """The sent survey of a ticket, an order or a complaint (each has at most one) of the
    storefront's customers (``csplatform.Storefront``)."""
    queryset = SurveyInvitation.objects.filter(
        status__in=LINK_SENT, sent_at__isnull=False, customer__storefront=storefront
    )
    if ticket_number:
        queryset = queryset.filter(kind="csat", ticket__number=ticket_number)
    elif order_number:
        queryset = queryset.filter(kind="nps", order__number=order_number)
    elif complaint_number:
        queryset = queryset.filter(kind="complaint", complaint_number=complaint_number)
    else:
        return None
    return queryset.select_related("response").first()
