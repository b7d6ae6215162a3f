"""Customer notices: the admin-edited texts, rendered safely, sent through the customer's
channels in the transaction of the change they report.

A notice is a ``NoticeTemplate`` (one per notice type and language) rendered with Django's
template engine under two limits checked when the template is saved and again when it renders:
only the variables its notice type offers (``NOTICE_VARIABLES``, plain strings, never model
objects) and only ``{% if %}``/``{% comment %}`` among the tags, with a few text filters. It goes
out as a ``customer.notice`` webhook event to the storefront's subscribed endpoints and, when
the customer has an e-mail address, as a queued e-mail from the ticket team's mailbox (the
e-mail sender sends queued rows). Each notice is recorded once per notice type and state change
(``CustomerNotice.key``) and noted on the ticket's timeline, or the order's when no ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.template.defaultfilters import linebreaks_filter
from django.utils import translation
from django.utils.html import escape

from orders.services import order_customer_notified
from tickets.choices import NoticeChannel, TicketKind
from tickets.languages import language_for_customer
from tickets.services import ticket_customer_notified, ticket_route

from .choices import EmailSkipped, NoticeLanguage, NoticeType, WebhookEventType
from .email_out import email_queue, email_thread_of
from .models import CustomerNotice, EmailMessage, Mailbox, NoticeTemplate
from .notice_templates import NoticeTemplateError, template_render
from .services import outbox_event_record

if TYPE_CHECKING:
    from orders.models import Customer, Order
    from tickets.models import Ticket

logger = logging.getLogger(__name__)


def notice_render(*, template: NoticeTemplate, values: Mapping[str, object]) -> tuple[str, str]:
    """The subject (one line) and body of ``template`` with ``values``, in the template's
    language. ``NoticeTemplateError`` when the stored template may not render (edited past the
    admin's check)."""
    return template_render(
        notice_type=template.notice_type,
        language=template.language,
        subject=template.subject,
        body=template.body,
        values=values,
    )


def amount_text(amount: Decimal, currency: str) -> str:
    return f"¥{amount}" if currency == "CNY" else f"{amount} {currency}"


# --- Sending --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """What a notice is about: the state change (``key``: its event row), whose case, and the
    values of its variables beyond the customer's name and the ticket and order numbers."""

    type: str
    key: str
    customer: Customer
    now: datetime
    ticket: Ticket | None = None
    order: Order | None = None
    values: Mapping[str, object] = field(default_factory=dict)
    # Extra references for the webhook payload (``return_id``, ``complaint_number``).
    references: Mapping[str, str | None] = field(default_factory=dict)


def customer_notice_send(notice: Notice) -> CustomerNotice | None:
    """Send ``notice`` through the customer's channels, once, in the caller's transaction:
    a ``customer.notice`` webhook event and a queued e-mail, noted on the timeline. Nothing
    when it was sent already, when its template (in the customer's language) is switched off,
    or when the template may not render (logged for the admin, never the change refused)."""
    if CustomerNotice.objects.filter(notice_type=notice.type, key=notice.key).exists():
        return None
    language = language_for_customer(notice.customer.pk, default=NoticeLanguage.ZH_HANS)
    template = NoticeTemplate.objects.filter(notice_type=notice.type, language=language).first()
    if template is None or not template.enabled:
        return None
    ticket, order = notice.ticket, notice.order
    values = {
        "customer.name": notice.customer.name,
        "ticket.number": ticket.number if ticket is not None else "",
        "order.number": order.number if order is not None else "",
        **notice.values,
    }
    try:
        subject, body = notice_render(template=template, values=values)
    except NoticeTemplateError:
        logger.warning("Notice template %s (%s) does not render: not sent.", notice.type, language)
        return None
    record = CustomerNotice.objects.create(
        notice_type=notice.type,
        key=notice.key,
        customer=notice.customer,
        ticket=ticket,
        order=order,
        language=language,
        subject=subject,
        body=body,
        created_at=notice.now,
    )
    channels = []
    record.outbox_event = outbox_event_record(
        type=WebhookEventType.CUSTOMER_NOTICE,
        data=notice_data(record, notice),
        now=notice.now,
        ordering_key=_ordering_key(notice),
        storefront_id=notice.customer.storefront_id,
    )
    if record.outbox_event is not None:
        channels.append(NoticeChannel.WEBHOOK)
    record.email, record.email_skipped = _email_queue(record, notice)
    if record.email is not None:
        channels.append(NoticeChannel.EMAIL)
    record.channels = [str(channel) for channel in channels]
    record.save(update_fields=["outbox_event", "email", "email_skipped", "channels"])
    if channels:
        with translation.override(None):  # the msgid: translated where it is shown
            label = str(NoticeType(notice.type).label)
        if ticket is not None:
            ticket_customer_notified(
                ticket=ticket,
                notice=notice.type,
                label=label,
                channels=record.channels,
                now=notice.now,
            )
        elif order is not None:
            order_customer_notified(
                order=order,
                notice=notice.type,
                label=label,
                channels=record.channels,
                now=notice.now,
            )
    return record


def _ordering_key(notice: Notice) -> str:
    # The ticket's key: a notice reaches the storefront after the ticket events before it.
    if notice.ticket is not None:
        return f"ticket:{notice.ticket.pk}"
    return f"order:{notice.order.pk}" if notice.order is not None else ""


def notice_data(record: CustomerNotice, notice: Notice) -> dict:
    """The ``customer.notice`` event's data: the notice as the customer is to read it."""
    return {
        "notice": record.notice_type,
        "language": record.language,
        "subject": record.subject,
        "body": record.body,
        "customer": {"external_id": notice.customer.external_id},
        "ticket_number": notice.ticket.number if notice.ticket is not None else None,
        "order_number": notice.order.number if notice.order is not None else None,
        **notice.references,
        "created_at": record.created_at.isoformat(),
    }


def _mailbox_for(notice: Notice) -> Mailbox | None:
    """The ticket team's mailbox; without a ticket (an order exception, before its ticket is
    opened), the mailbox of the team its ticket will be routed to."""
    if notice.ticket is not None:
        team_id = notice.ticket.team_id
    else:
        team, _priority = ticket_route(
            kind=TicketKind.ORDER_ISSUE,
            channel=notice.order.channel if notice.order is not None else "",
            customer_tier=notice.customer.tier,
        )
        team_id = team.pk if team is not None else None
    if team_id is None:
        return None
    return Mailbox.objects.filter(team_id=team_id).first()


def _email_queue(record: CustomerNotice, notice: Notice) -> tuple[EmailMessage | None, str]:
    """A queued e-mail of the notice, threaded onto the ticket's latest mail; or why none."""
    address = notice.customer.email
    if not address:
        return None, EmailSkipped.NO_ADDRESS
    mailbox = _mailbox_for(notice)
    if mailbox is None:
        return None, EmailSkipped.NO_MAILBOX
    ticket = notice.ticket
    subject = record.subject
    in_reply_to = references = ""
    if ticket is not None:
        subject = f"{subject} [{ticket.number}]"
        in_reply_to, references = email_thread_of(ticket)
    email = email_queue(
        mailbox=mailbox,
        to=address,
        subject=subject,
        body_text=record.body,
        body_html=linebreaks_filter(escape(record.body)),
        kind=EmailMessage.Kind.NOTICE,
        customer_id=notice.customer.pk,
        language=record.language,
        ticket=ticket,
        in_reply_to=in_reply_to,
        references=references,
        now=notice.now,
    )
    return email, ""
