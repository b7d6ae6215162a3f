"""What the ticket page shows under each public message: where it went and whether it got
there (the e-mail, the storefront's webhook), or why nothing went. Registered with
``tickets.deliveries`` from the app's ``ready()``; at most three queries for a whole
conversation (its e-mails, its webhook deliveries, and on an e-mail ticket the team's mailbox).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from orders.choices import Channel
from tickets.deliveries import Delivery
from tickets.models import Message, Ticket

from .choices import DeliveryStatus
from .email_out import email_not_sent_reason
from .models import EmailMessage, Mailbox, WebhookDelivery

_EMAIL_STATES: dict[str, str] = {
    EmailMessage.Status.QUEUED: "queued",
    EmailMessage.Status.SENT: "sent",
    EmailMessage.Status.FAILED: "failed",
    EmailMessage.Status.RECEIVED: "received",
    EmailMessage.Status.IGNORED: "received",
}
_WEBHOOK_STATES: dict[str, str] = {
    DeliveryStatus.PENDING: "queued",
    DeliveryStatus.DELIVERED: "sent",
    DeliveryStatus.FAILED: "failed",
    DeliveryStatus.DEAD: "failed",
}


def _email_delivery(ticket: Ticket, email: EmailMessage) -> Delivery:
    state = _EMAIL_STATES[email.status]
    failed = state == "failed"
    return Delivery(
        key=f"email-{email.pk}",
        way="email",
        channel=_("E-mail"),
        state=state,
        at=email.sent_at if state == "sent" else email.created_at if state == "received" else None,
        # A queued e-mail that failed before is being retried: say why.
        reason=email.last_error or (_("no reason recorded") if failed else ""),
        retry_url=reverse("desk:email-retry", args=[ticket.number, email.pk]) if failed else "",
    )


def _webhook_delivery(row: Mapping[str, Any]) -> Delivery:
    state = _WEBHOOK_STATES[row["status"]]
    reason = row["last_error"]
    if row["status"] == DeliveryStatus.DEAD:
        reason = _("the endpoint was disabled")
    return Delivery(
        key=f"webhook-{row['id']}",
        way="webhook",
        channel=_("Storefront"),
        state=state,
        at=row["delivered_at"] if state == "sent" else None,
        reason=reason if state in ("failed", "queued") else "",
    )


def message_deliveries_of(ticket: Ticket, messages: Sequence[Message]) -> dict[int, list[Delivery]]:
    """The deliveries of the ticket's public messages, by message id."""
    public = [message for message in messages if not message.internal]
    if not public:
        return {}
    ids = [message.pk for message in public]
    found: dict[int, list[Delivery]] = {}
    emails = EmailMessage.objects.filter(message_id__in=ids).only(
        "id", "message_id", "status", "sent_at", "created_at", "last_error"
    )
    for email in emails.order_by("id"):
        if email.message_id is not None:
            found.setdefault(email.message_id, []).append(_email_delivery(ticket, email))
    webhooks = (
        WebhookDelivery.objects.filter(event__message_id__in=ids)
        .order_by("id")
        .values("id", "event__message_id", "status", "delivered_at", "last_error")
    )
    for row in webhooks:
        found.setdefault(row["event__message_id"], []).append(_webhook_delivery(row))
    not_emailed = ""
    if ticket.channel == Channel.EMAIL:
        mailbox = Mailbox.objects.filter(team_id=ticket.team_id).first() if ticket.team_id else None
        not_emailed = email_not_sent_reason(mailbox=mailbox, address=ticket.customer.email)
    for message in public:
        if not message.is_public_agent_reply:
            continue
        went = found.get(message.pk, [])
        if ticket.channel == Channel.EMAIL and not any(d.key.startswith("email") for d in went):
            reason = not_emailed or _("no e-mail was queued for it")
            found.setdefault(message.pk, []).append(
                Delivery(
                    key="email", way="email", channel=_("E-mail"), state="not_sent", reason=reason
                )
            )
        elif not went:
            found[message.pk] = [
                Delivery(
                    key="storefront",
                    way="webhook",
                    channel=_("Storefront"),
                    state="not_sent",
                    reason=_("no webhook of the storefront takes messages"),
                )
            ]
    return found
