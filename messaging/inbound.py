"""E-mail in: one raw message, from the inbound webhook or an IMAP poll, becomes a customer
message on a ticket (a reply threads onto its ticket, anything else opens one), or is recorded
as ignored (an auto-reply, a bounce, a loop).

Whatever the path, a mail is taken once: its ``Message-ID`` is ``EmailMessage.header_id``,
unique, written first in the transaction that writes the ticket message; the same mail again
finds that row and changes nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from csplatform.actors import Actor
from csplatform.models import Storefront
from csplatform.privacy import email_blind_index
from csplatform.uploads import MAX_PER_MESSAGE, UploadRefused, upload_max_bytes, uploads_check
from orders.choices import Channel
from orders.models import Customer
from orders.services import customer_upsert
from tickets.choices import TicketKind
from tickets.models import Ticket
from tickets.services import ticket_create, ticket_customer_message, ticket_system_change

from .choices import UNKNOWN_RECIPIENT, IgnoredReason
from .email_out import email_queue, email_thread_of
from .mail_parse import MailAttachment, ParsedMail, mail_parse, trim_quoted
from .models import EmailMessage, Mailbox

logger = logging.getLogger(__name__)

ACTOR = Actor.system("e-mail")
# A ticket number as tickets.services.ticket_create writes it: in a subject's brackets, or
# after the plus of a support address (support+T-000123@…).
_NUMBER_IN_SUBJECT = re.compile(r"\[\s*(T-\d{6,})\s*\]", re.IGNORECASE)
_NUMBER_IN_ADDRESS = re.compile(r"^[^@+]+\+(t-\d{6,})@", re.IGNORECASE)
_BODY_MAX = 20000  # tickets.Message.body's length

# Why an attachment was not stored (by the code of ``csplatform.uploads``' refusal), said to
# the customer and the agent in the language active where it is shown.
REFUSAL_REASONS = {
    "attachment_too_large": gettext_noop("it is larger than the limit of %(limit)s per file"),
    "attachment_empty": gettext_noop("it is empty"),
    "attachment_type": gettext_noop(
        "only images (JPEG, PNG, GIF, WebP) and PDF files are accepted"
    ),
    "too_many_attachments": gettext_noop("at most %(count)d files are taken per e-mail"),
}


@dataclass(frozen=True)
class InboundResult:
    """What became of a mail: ``received`` onto ``ticket_number``, or ``ignored`` for
    ``reason``; ``duplicate`` when the same mail had been taken before."""

    status: str
    ticket_number: str | None = None
    reason: str = ""
    duplicate: bool = False
    email: EmailMessage | None = None


@dataclass(frozen=True)
class RefusedAttachment:
    name: str
    code: str

    @property
    def label(self) -> str:
        limits = {"limit": filesizeformat(upload_max_bytes()), "count": MAX_PER_MESSAGE}
        return _(REFUSAL_REASONS[self.code]) % limits


# --- Routing ----------------------------------------------------------------------------------


def _base_address(address: str) -> str:
    """``support+T-000123@shop.example`` → ``support@shop.example``."""
    local, _at, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}".lower()


def mailbox_for(recipients: list[str], *, storefront: Storefront | None = None) -> Mailbox | None:
    """The mailbox a mail was sent to (plus-addresses allowed), of ``storefront`` when given
    (a storefront's key only delivers to its own mailboxes)."""
    wanted = {_base_address(address) for address in recipients}
    if not wanted:
        return None
    mailboxes = Mailbox.objects.select_related("team", "storefront")
    found = [m for m in mailboxes if m.address.lower() in wanted]
    if storefront is not None:
        default_id = Storefront.default().pk
        found = [m for m in found if (m.storefront_id or default_id) == storefront.pk]
    return found[0] if found else None


def _own_addresses() -> set[str]:
    return {address.lower() for address in Mailbox.objects.values_list("address", flat=True)}


def _number_named(mail: ParsedMail) -> str | None:
    for address in mail.recipients:
        match = _NUMBER_IN_ADDRESS.match(address)
        if match:
            return match.group(1).upper()
    match = _NUMBER_IN_SUBJECT.search(mail.subject)
    return match.group(1).upper() if match else None


def ticket_threaded(mail: ParsedMail, *, sender_index: str) -> Ticket | None:
    """The ticket the mail answers: the ticket of a mail in or out whose ``Message-ID`` it
    names in ``In-Reply-To``/``References``; else the ticket whose number the plus-address or
    the subject carries, only if it is the sender's own (the number is no secret)."""
    ids = mail.thread_ids
    if ids:
        answered = EmailMessage.objects.filter(
            header_id__in=ids, ticket__isnull=False
        ).select_related("ticket")
        by_id = {email.header_id: email.ticket for email in answered}
        for header_id in ids:
            if header_id in by_id:
                return by_id[header_id]
    number = _number_named(mail)
    if number:
        return (
            Ticket.objects.filter(number=number, customer__email_index=sender_index)
            .select_related("customer")
            .first()
        )
    return None


def _customer_for(mail: ParsedMail, *, mailbox: Mailbox, sender_index: str) -> Customer:
    """The mailbox's storefront's customer of this address (the latest updated of several),
    found through the blind index; else a new customer, whose id derives from the address so
    that two first mails at once make one customer."""
    storefront = mailbox.storefront or Storefront.default()
    customer = (
        Customer.objects.filter(storefront=storefront, email_index=sender_index)
        .order_by("-updated_at", "-id")
        .first()
    )
    if customer is not None:
        return customer
    return customer_upsert(
        storefront=storefront,
        external_id=f"email-{sender_index[:40]}",
        name=mail.sender_name,
        email=mail.sender,
    )


# --- Attachments ------------------------------------------------------------------------------


def attachments_checked(
    attachments: list[MailAttachment],
) -> tuple[list[ContentFile], list[RefusedAttachment]]:
    """The files that pass the upload checks (size, type, count), and the refused ones with
    the reason; one refused file does not hold back the others."""
    accepted: list[ContentFile] = []
    refused: list[RefusedAttachment] = []
    for attachment in attachments:
        upload = ContentFile(attachment.content, name=attachment.name)
        if len(accepted) >= MAX_PER_MESSAGE:
            refused.append(RefusedAttachment(attachment.name, "too_many_attachments"))
            continue
        try:
            uploads_check([upload], max_count=1)
        except UploadRefused as refusal:
            refused.append(RefusedAttachment(attachment.name, refusal.code))
        else:
            accepted.append(upload)
    return accepted, refused


def _refusal_note(refused: list[RefusedAttachment]) -> str:
    lines = [_("Attachments of this e-mail were not stored; the customer was told by e-mail:")]
    lines += [f"- {item.name}: {item.label}" for item in refused]
    return "\n".join(lines)


def _notice_queue(
    *,
    mailbox: Mailbox,
    ticket: Ticket,
    answered: EmailMessage,
    refused: list[RefusedAttachment],
    now: datetime,
) -> EmailMessage:
    """The sender's notice that attachments were refused: a queued outbound e-mail, in
    Chinese and English, threaded onto their mail (the ticket's latest)."""
    context = {"ticket": ticket, "refused": refused, "limit": filesizeformat(upload_max_bytes())}
    in_reply_to, references = email_thread_of(ticket)
    return email_queue(
        mailbox=mailbox,
        to=answered.customer_address,
        subject=f"附件未能接收 / Attachment not accepted [{ticket.number}]",
        body_text=render_to_string("messaging/email/attachment_refused.txt", context).strip(),
        body_html=render_to_string("messaging/email/attachment_refused.html", context).strip(),
        kind=EmailMessage.Kind.NOTICE,
        ticket=ticket,
        in_reply_to=in_reply_to,
        references=references,
        now=now,
    )


# --- The service ------------------------------------------------------------------------------


def _ignored_reason(mail: ParsedMail, *, mailbox: Mailbox, sender_index: str, now: datetime) -> str:
    if not mailbox.active:
        return IgnoredReason.MAILBOX_DISABLED
    if _base_address(mail.sender) in _own_addresses():
        return IgnoredReason.OWN_ADDRESS
    if mail.automatic is not None:
        return mail.automatic
    recent = EmailMessage.objects.filter(
        direction=EmailMessage.Direction.INBOUND,
        customer_address_index=sender_index,
        created_at__gt=now - timedelta(hours=1),
    ).count()
    if recent >= settings.INBOUND_EMAIL_MAX_PER_SENDER_HOUR:
        return IgnoredReason.RATE_LIMITED
    return ""


def _email_row(
    mail: ParsedMail, *, mailbox: Mailbox, sender_index: str, status: str, now: datetime
) -> EmailMessage:
    return EmailMessage(
        mailbox=mailbox,
        direction=EmailMessage.Direction.INBOUND,
        kind=EmailMessage.Kind.CONVERSATION,
        status=status,
        customer_address=mail.sender,
        customer_address_index=sender_index,
        subject=mail.subject,
        body_text=mail.text,
        body_html=mail.html,
        header_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=" ".join(mail.references),
        created_at=now,
    )


def _result_of(email: EmailMessage, *, duplicate: bool) -> InboundResult:
    return InboundResult(
        status=email.status,
        ticket_number=email.ticket.number if email.ticket else None,
        reason=email.ignored_reason,
        duplicate=duplicate,
        email=email,
    )


def _taken_before(header_id: str) -> InboundResult | None:
    email = (
        EmailMessage.objects.filter(header_id=header_id, direction=EmailMessage.Direction.INBOUND)
        .select_related("ticket")
        .first()
    )
    if email is None and EmailMessage.objects.filter(header_id=header_id).exists():
        # One of our own mails come back (a loop through a forwarding address).
        return InboundResult(status=EmailMessage.Status.IGNORED, reason=IgnoredReason.OWN_ADDRESS)
    return _result_of(email, duplicate=True) if email is not None else None


def email_receive(
    *,
    raw: bytes,
    mailbox: Mailbox | None = None,
    storefront: Storefront | None = None,
    now: datetime | None = None,
) -> InboundResult:
    """Take one raw mail: thread it onto its ticket or open one, or record it as ignored.

    ``mailbox``: the mailbox it was read from (IMAP); else it is found by the recipients, among
    ``storefront``'s mailboxes when given (the inbound webhook's key). A mail to no known
    mailbox is ignored without a trace (there is nobody to record it for).
    Raises ``MailUnreadable`` (400) when the bytes are no e-mail.
    """
    now = now or timezone.now()
    mail = mail_parse(raw)
    taken = _taken_before(mail.message_id)
    if taken is not None:
        return taken
    mailbox = mailbox or mailbox_for(mail.recipients, storefront=storefront)
    if mailbox is None:
        return InboundResult(status=EmailMessage.Status.IGNORED, reason=UNKNOWN_RECIPIENT)
    sender_index = email_blind_index(mail.sender)
    try:
        return _record(mail, mailbox=mailbox, sender_index=sender_index, now=now)
    except IntegrityError:
        # The same mail taken meanwhile by another poll or request: its row answers.
        taken = _taken_before(mail.message_id)
        if taken is None:
            raise
        return taken


@transaction.atomic
def _record(
    mail: ParsedMail, *, mailbox: Mailbox, sender_index: str, now: datetime
) -> InboundResult:
    reason = _ignored_reason(mail, mailbox=mailbox, sender_index=sender_index, now=now)
    if reason:
        email = _email_row(
            mail, mailbox=mailbox, sender_index=sender_index, status="ignored", now=now
        )
        email.ignored_reason = reason
        email.save()
        logger.info("Inbound e-mail %s ignored: %s.", email.pk, reason)
        return _result_of(email, duplicate=False)

    # The row first: a second taker of the same mail stops here, on the unique Message-ID.
    email = _email_row(mail, mailbox=mailbox, sender_index=sender_index, status="received", now=now)
    email.save()
    accepted, refused = attachments_checked(mail.attachments)
    body = trim_quoted(mail.text)[:_BODY_MAX] or _("(No text; see the attachments.)")
    ticket = ticket_threaded(mail, sender_index=sender_index)
    if ticket is not None:
        ticket, message = ticket_customer_message(
            ticket=ticket, body=body, actor=ACTOR, attachments=accepted, now=now
        )
    else:
        customer = _customer_for(mail, mailbox=mailbox, sender_index=sender_index)
        ticket = ticket_create(
            customer=customer,
            kind=TicketKind.INQUIRY,
            channel=Channel.EMAIL,
            subject=mail.subject or _("(No subject)"),
            body=body,
            actor=ACTOR,
            team=mailbox.team,
            attachments=accepted,
            now=now,
        )
        message = ticket.messages.order_by("id")[0]  # the first message, just written
    email.ticket = ticket
    email.customer = ticket.customer
    email.message = message
    email.save(update_fields=["ticket", "customer", "message"])
    if refused:
        ticket_system_change(ticket=ticket, actor=ACTOR, note=_refusal_note(refused), now=now)
        _notice_queue(mailbox=mailbox, ticket=ticket, answered=email, refused=refused, now=now)
    return _result_of(email, duplicate=False)
