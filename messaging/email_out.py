"""Outbound e-mail: what writes a queued ``EmailMessage``, and the hand retry of a failed one.

An outbound e-mail is a queued row, written in the transaction of the change that causes it;
the sender (``email_sender.py``) sends it after the commit and retries it. A ticket's public
reply leaves as e-mail when the ticket came by e-mail, its team has a mailbox and its customer
an address; otherwise nothing is written and the desk says why (``email_not_sent_reason``).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.enqueue import enqueue_on_commit
from csplatform.errors import ConflictError
from csplatform.languages import ZH_HANS, language_of_text
from csplatform.privacy import email_blind_index
from orders.choices import Channel
from tickets.models import Message, Ticket

from .models import EmailMessage, Mailbox

# A queued e-mail is retried for this long after it was queued (or retried by hand).
RETRY_WINDOW = timedelta(hours=24)
# The Message-IDs a References header keeps: the thread's first and its latest ones.
REFERENCES_KEPT = 10
SEND_TASK = "messaging.tasks.email_messages_send_task"

_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)


def header_id_make(*, about: str, mailbox: Mailbox | None) -> str:
    """A new Message-ID (without angle brackets): ``<uuid hex>.<about>@<mailbox domain>``."""
    address = mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    domain = address.rpartition("@")[2] or "localhost"
    return f"{uuid.uuid4().hex}.{about}@{domain}"


def header_ids(text: str) -> list[str]:
    """The Message-IDs of a References or In-Reply-To value, without angle brackets."""
    return [token.strip("<>") for token in text.split() if token.strip("<>")]


def reply_subject(ticket: Ticket) -> str:
    """ "Re: <subject> [<ticket number>]", without piling up the "Re:" of the thread."""
    subject = _REPLY_PREFIX.sub("", ticket.subject).strip()
    tag = f" [{ticket.number}]"
    return f"Re: {subject}"[: 300 - len(tag)] + tag


def email_queue(
    *,
    mailbox: Mailbox | None,
    to: str,
    subject: str,
    body_text: str,
    kind: str,
    customer_id: int | None = None,
    body_html: str = "",
    language: str = ZH_HANS,
    ticket: Ticket | None = None,
    message: Message | None = None,
    in_reply_to: str = "",
    references: str = "",
    now: datetime | None = None,
) -> EmailMessage:
    """Queue an outbound e-mail in the caller's transaction; the sender is woken after the
    commit (and the beat sweep sends it if that wake-up is lost). The customer is the ticket's
    unless given; ``body_html``, when given, is sent as it is (else the sender renders the
    team's template around ``body_text``)."""
    now = now or timezone.now()
    about = ticket.number if ticket is not None and ticket.number else kind
    email = EmailMessage.objects.create(
        mailbox=mailbox,
        direction=EmailMessage.Direction.OUTBOUND,
        kind=kind,
        status=EmailMessage.Status.QUEUED,
        customer_id=customer_id
        if customer_id is not None
        else getattr(ticket, "customer_id", None),
        customer_address=to,
        customer_address_index=email_blind_index(to),
        subject=" ".join(subject.split())[:300],  # one line: a header
        body_text=body_text,
        body_html=body_html,
        ticket=ticket,
        message=message,
        header_id=header_id_make(about=about, mailbox=mailbox),
        in_reply_to=in_reply_to,
        references=references,
        language=language,
        next_attempt_at=now,
        give_up_at=now + RETRY_WINDOW,
        created_at=now,
    )
    enqueue_on_commit(SEND_TASK)
    return email


def email_thread_of(ticket: Ticket) -> tuple[str, str]:
    """``(In-Reply-To, References)`` of a reply on the ticket: the customer's latest mail (else
    the latest mail of the ticket), and that mail's references followed by it."""
    emails = EmailMessage.objects.filter(ticket=ticket).only("header_id", "references")
    parent = (
        emails.filter(direction=EmailMessage.Direction.INBOUND).order_by("-id").first()
        or emails.order_by("-id").first()
    )
    if parent is None:
        return "", ""
    chain = [*header_ids(parent.references), parent.header_id]
    if len(chain) > REFERENCES_KEPT:
        chain = chain[:1] + chain[-(REFERENCES_KEPT - 1) :]
    return parent.header_id, " ".join(chain)


def email_not_sent_reason(*, mailbox: Mailbox | None, address: str | None) -> str:
    """Why a public reply on an e-mail ticket was not e-mailed; empty when it could be."""
    if mailbox is None:
        return _("the team has no mailbox")
    if not address:
        return _("no address")
    return ""


def email_reply_queue(*, message: Message, now: datetime | None = None) -> EmailMessage | None:
    """Queue the e-mail of an agent's public reply on an e-mail ticket, in the reply's
    transaction; ``None`` when it cannot be e-mailed (no mailbox, no address)."""
    ticket = message.ticket
    if ticket.channel != Channel.EMAIL or not message.is_public_agent_reply:
        return None
    mailbox = Mailbox.objects.filter(team_id=ticket.team_id).first() if ticket.team_id else None
    address = ticket.customer.email
    if mailbox is None or not address:
        return None  # the desk says why: email_not_sent_reason
    in_reply_to, references = email_thread_of(ticket)
    return email_queue(
        mailbox=mailbox,
        to=address,
        subject=reply_subject(ticket),
        body_text=message.body,
        kind=EmailMessage.Kind.CONVERSATION,
        language=language_of_text(message.body) or ZH_HANS,
        ticket=ticket,
        message=message,
        in_reply_to=in_reply_to,
        references=references,
        now=now or message.created_at,
    )


@transaction.atomic
def email_message_retry(*, email: EmailMessage, now: datetime | None = None) -> EmailMessage:
    """Send a failed e-mail again: queued and due now, retried for 24 hours more. Its
    Message-ID stays, so a mail client that got it already shows it once."""
    now = now or timezone.now()
    email = EmailMessage.objects.select_for_update().get(pk=email.pk)
    if email.direction != EmailMessage.Direction.OUTBOUND:
        raise ConflictError(_("Only e-mails we send can be sent again."), code="email_inbound")
    if email.status != EmailMessage.Status.FAILED:
        raise ConflictError(
            _("Only a failed e-mail can be sent again; this one is %(status)s.")
            % {"status": email.get_status_display()},
            code="email_not_failed",
        )
    email.status = EmailMessage.Status.QUEUED
    email.next_attempt_at = now
    email.give_up_at = now + RETRY_WINDOW
    email.save(update_fields=["status", "next_attempt_at", "give_up_at"])
    enqueue_on_commit(SEND_TASK)
    return email
