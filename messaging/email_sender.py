"""The e-mail sender: due queued e-mails in batches, locked with ``SKIP LOCKED``, rendered from
the templates in the customer's language, sent through Django's mail API, retried with
exponential backoff for 24 hours.

Every outbound ``EmailMessage`` goes through here, whoever queued it (a ticket reply, a
customer notice, a survey invitation). A batch is claimed in a short transaction that pushes
each row's ``next_attempt_at`` past the time its sending may take (a lease); the mail is sent
after that commit, holding no lock, and the outcome is written in a transaction of its own.
Two senders never hold the same row: the second skips what the first locked, and finds it not
due once the first committed its claim. A sender killed mid-batch leaves its rows due again
when the lease ends, for the beat sweep (at least once: the Message-ID stays the same).
"""

from __future__ import annotations

import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from csplatform.languages import ZH_HANS
from tickets.choices import AuthorKind
from tickets.models import Message

from .delivery import backoff
from .email_out import RETRY_WINDOW, header_ids
from .models import EmailMessage

logger = logging.getLogger(__name__)

ERROR_EXCERPT = 200
# The earlier public messages of the ticket quoted under a reply.
HISTORY_KEPT = 3
HISTORY_EXCERPT = 600

_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def emails_send_due(
    *, now: datetime | None = None, batch_size: int = 20, max_batches: int = 50
) -> int:
    """Send the e-mails due at ``now``, batch after batch until none is due. Returns how many
    sends were attempted."""
    attempted = 0
    for _ in range(max_batches):
        batch = _claim(now or timezone.now(), batch_size)
        if not batch:
            break
        connection = get_connection()
        try:
            for email in batch:
                _record(email, _send(email, connection), now=now)
        finally:
            _close(connection)
        attempted += len(batch)
    return attempted


def _claim(now: datetime, batch_size: int) -> list[EmailMessage]:
    lease = timedelta(seconds=batch_size * float(settings.EMAIL_TIMEOUT or 30) + 60)
    with transaction.atomic():
        batch = list(
            EmailMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("mailbox__team", "ticket", "message")
            .filter(
                direction=EmailMessage.Direction.OUTBOUND,
                status=EmailMessage.Status.QUEUED,
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "id")[:batch_size]
        )
        EmailMessage.objects.filter(pk__in=[email.pk for email in batch]).update(
            next_attempt_at=now + lease
        )
    return batch


@dataclass(frozen=True)
class SendResult:
    ok: bool
    # A refusal that sending again will not change (the server refused the recipient or the
    # message with a 5xx): failed at once rather than retried for a day.
    permanent: bool = False
    error: str = ""


def _scrubbed(text: str) -> str:
    """An error text without addresses (personal data) or control characters, cut short."""
    return _CONTROL.sub(" ", _ADDRESS.sub("<address>", text)).strip()[:ERROR_EXCERPT]


def _smtp_text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _failure(error: Exception) -> SendResult:
    """What a failed send tells: the SMTP code and the server's words, masked."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (0, b""))
        return SendResult(
            ok=False, permanent=code >= 500, error=_scrubbed(f"SMTP {code}: {_smtp_text(text)}")
        )
    if isinstance(error, smtplib.SMTPResponseException):
        code = error.smtp_code
        # A refused sender or message is about this mail; a refused connection, greeting or
        # login is about the server's setup, which may be fixed: those are retried.
        permanent = code >= 500 and isinstance(
            error, smtplib.SMTPDataError | smtplib.SMTPSenderRefused
        )
        return SendResult(
            ok=False,
            permanent=permanent,
            error=_scrubbed(f"SMTP {code}: {_smtp_text(error.smtp_error)}"),
        )
    if isinstance(error, TimeoutError):
        return SendResult(ok=False, error="timeout")
    return SendResult(ok=False, error=_scrubbed(f"{type(error).__name__}: {error}"))


def _send(email: EmailMessage, connection: BaseEmailBackend) -> SendResult:
    if "@" not in (email.customer_address or ""):  # erased with its customer meanwhile
        return SendResult(ok=False, permanent=True, error="no address")
    try:
        mail = email_build(email, connection=connection)
        mail.message()  # an address or header that cannot be written fails here...
    except Exception as error:  # ...and would fail the same way every time: not retried
        return SendResult(ok=False, permanent=True, error=_scrubbed(f"{type(error).__name__}"))
    try:
        mail.send(fail_silently=False)
    except Exception as error:  # any failure of one mail is recorded, and the batch goes on
        _close(connection)  # the next mail opens a fresh connection
        return _failure(error)
    return SendResult(ok=True)


def _close(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # a connection that broke cannot be closed cleanly: it is dropped
        logger.debug("E-mail connection closed uncleanly", exc_info=True)


def _record(email: EmailMessage, result: SendResult, *, now: datetime | None) -> None:
    at = now or timezone.now()
    with transaction.atomic():
        current = EmailMessage.objects.select_for_update().get(pk=email.pk)
        if current.status != EmailMessage.Status.QUEUED:
            return
        current.attempts += 1
        current.last_error = result.error
        give_up_at = current.give_up_at or current.created_at + RETRY_WINDOW
        if result.ok:
            current.status = EmailMessage.Status.SENT
            current.sent_at = at
            current.next_attempt_at = None
        elif result.permanent or at >= give_up_at:
            current.status = EmailMessage.Status.FAILED
            current.next_attempt_at = None
        else:
            current.next_attempt_at = min(at + backoff(current.attempts), give_up_at)
        current.save(
            update_fields=["attempts", "last_error", "status", "sent_at", "next_attempt_at"]
        )
    if not result.ok:
        logger.warning(
            "E-mail %s (%s) not sent, attempt %s: %s",
            email.pk,
            email.kind,
            current.attempts,
            result.error,
        )


# --- The mail -----------------------------------------------------------------------------


def _sender_name(email: EmailMessage) -> str:
    mailbox = email.mailbox
    if mailbox is None:
        return ""
    return mailbox.display_name or mailbox.team.name


def _history(email: EmailMessage) -> list[Message]:
    """The public messages of the ticket before the reply, latest first (quoted under it)."""
    if email.kind != EmailMessage.Kind.CONVERSATION or email.message is None:
        return []
    reply = email.message
    before = Q(created_at__lt=reply.created_at) | Q(created_at=reply.created_at, id__lt=reply.pk)
    earlier = Message.objects.filter(before, ticket_id=reply.ticket_id, internal=False)
    return list(earlier.order_by("-created_at", "-id")[:HISTORY_KEPT])


def _excerpt(body: str) -> str:
    return body[:HISTORY_EXCERPT] + ("…" if len(body) > HISTORY_EXCERPT else "")


def email_render(email: EmailMessage) -> tuple[str, str]:
    """The text and HTML of an e-mail: its body in the template of its language, with the
    sender's name, the quoted history of its ticket and a footer with the ticket number."""
    language = email.language if email.language in dict(settings.LANGUAGES) else ZH_HANS
    context = {
        "email": email,
        "sender_name": _sender_name(email),
        "body": email.body_text,
        "history": [
            {
                "from_customer": message.author_kind == AuthorKind.CUSTOMER,
                "at": message.created_at,
                "body": _excerpt(message.body),
                "quoted": "\n".join(f"> {line}" for line in _excerpt(message.body).splitlines()),
            }
            for message in _history(email)
        ],
        "ticket_number": email.ticket.number if email.ticket is not None else "",
    }
    with translation.override(language):
        text = render_to_string("messaging/email/message.txt", context)
        html = render_to_string("messaging/email/message.html", context)
    return text, html


def email_build(
    email: EmailMessage, *, connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The mail of an outbound ``EmailMessage``: from the mailbox (or ``DEFAULT_FROM_EMAIL``),
    replies to the mailbox, threaded by Message-ID, In-Reply-To and References."""
    mailbox = email.mailbox
    address = mailbox.address if mailbox is not None else settings.DEFAULT_FROM_EMAIL
    name = _sender_name(email)
    headers = {"Message-ID": f"<{email.header_id}>"}
    if email.in_reply_to:
        headers["In-Reply-To"] = " ".join(f"<{i}>" for i in header_ids(email.in_reply_to)[:1])
    references = header_ids(email.references)
    if references:
        headers["References"] = " ".join(f"<{i}>" for i in references)
    if email.kind == EmailMessage.Kind.NOTICE:
        # RFC 3834: a notice is written by the platform, not by a person answering: mail
        # clients and servers do not answer it automatically (no auto-reply loops).
        headers["Auto-Submitted"] = "auto-generated"
    if email.body_html:
        text, html = email.body_text, email.body_html  # rendered by whoever queued it
    else:
        text, html = email_render(email)
    mail = EmailMultiAlternatives(
        subject=email.subject,
        body=text,
        from_email=formataddr((name, address)) if name else address,
        to=[email.customer_address],
        reply_to=[address],
        headers=headers,
        connection=connection,
    )
    mail.attach_alternative(html, "text/html")
    return mail
