"""IMAP polling: each enabled mailbox's new mail, read by UID, taken through the same service
as the inbound webhook (``messaging.inbound.email_receive``).

The mailbox keeps the highest UID taken and the folder's UIDVALIDITY; a UID is recorded only
after its mail committed, so a crash reads it again, and the mail's ``Message-ID`` makes the
second reading change nothing. A new UIDVALIDITY (the folder was rebuilt) starts from the
first UID again, on the same guarantee. The folder is opened read-only: the desk never marks,
moves or deletes the team's mail.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .inbound import email_receive
from .mail_parse import MailUnreadable
from .models import Mailbox

logger = logging.getLogger(__name__)


class MailboxPollFailed(Exception):
    """The mailbox could not be read: the kind of failure, without the server's words."""


@dataclass(frozen=True)
class PollResult:
    taken: int = 0  # mails read and committed (including duplicates and ignored ones)
    skipped: int = 0  # UIDs whose bytes were no e-mail (passed over)
    error: str = ""  # the failure that stopped the poll, if one did


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    timeout = settings.IMAP_TIMEOUT
    context = ssl.create_default_context()
    if mailbox.imap_ssl:
        return imaplib.IMAP4_SSL(
            mailbox.imap_host, mailbox.imap_port, ssl_context=context, timeout=timeout
        )
    client = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port, timeout=timeout)
    if mailbox.imap_starttls:
        client.starttls(ssl_context=context)
    elif not settings.IMAP_ALLOW_PLAINTEXT:
        client.shutdown()
        raise MailboxPollFailed("The mailbox is set to neither TLS nor STARTTLS.")
    return client


def _check(response: tuple[str, list]) -> list:
    status, data = response
    if status != "OK":
        raise MailboxPollFailed(f"The server answered {status}.")
    return data


def _uidvalidity(client: imaplib.IMAP4) -> int:
    _status, data = client.response("UIDVALIDITY")
    try:
        return int(data[0])
    except (TypeError, ValueError, IndexError):
        raise MailboxPollFailed("The server gave no UIDVALIDITY.") from None


def _raw_of(data: list) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return bytes(item[1])
    return None


def _new_uids(client: imaplib.IMAP4, last_uid: int) -> list[int]:
    # "n:*" always matches the highest UID, even below n: filtered here.
    (found,) = _check(client.uid("SEARCH", f"UID {last_uid + 1}:*"))
    return sorted(uid for uid in map(int, (found or b"").split()) if uid > last_uid)


def _uid_record(mailbox: Mailbox, uid: int) -> None:
    Mailbox.objects.filter(pk=mailbox.pk, imap_last_uid__lt=uid).update(imap_last_uid=uid)
    mailbox.imap_last_uid = max(mailbox.imap_last_uid, uid)


def mailbox_poll(
    *, mailbox: Mailbox, limit: int | None = None, now: datetime | None = None
) -> PollResult:
    """Take the mailbox's new mail, at most ``limit`` messages (``IMAP_BATCH_SIZE``).

    Never raises for the server's or the network's failures: the poll stops, the failure's kind
    is kept on the mailbox and logged (without personal data), and the next poll resumes after
    the last UID taken.
    """
    now = now or timezone.now()
    limit = limit or settings.IMAP_BATCH_SIZE
    taken = skipped = 0
    error = ""
    client: imaplib.IMAP4 | None = None
    try:
        client = _connect(mailbox)
        _check(client.login(mailbox.imap_user, mailbox.imap_password or ""))
        _check(client.select(_quoted(mailbox.imap_folder), readonly=True))
        validity = _uidvalidity(client)
        if validity != mailbox.imap_uidvalidity:
            # A rebuilt folder numbers its mail afresh: read it all again (the Message-IDs
            # taken before are recognised and skipped).
            mailbox.imap_uidvalidity, mailbox.imap_last_uid = validity, 0
            Mailbox.objects.filter(pk=mailbox.pk).update(imap_uidvalidity=validity, imap_last_uid=0)
        for uid in _new_uids(client, mailbox.imap_last_uid)[:limit]:
            raw = _raw_of(_check(client.uid("FETCH", str(uid), "(BODY.PEEK[])")))
            if raw is None:
                raise MailboxPollFailed("The server sent no message body.")
            try:
                email_receive(raw=raw, mailbox=mailbox, now=now)
            except MailUnreadable:
                logger.warning("Mailbox %s: UID %s is not an e-mail; passed over.", mailbox.pk, uid)
                skipped += 1
            else:
                taken += 1
            _uid_record(mailbox, uid)
    except Exception as exc:  # the server, the network, or a mail that could not be recorded
        error = _error_kind(exc)
    finally:
        if client is not None:
            _logout(client)
    if error:
        logger.warning("Mailbox %s: polling stopped (%s).", mailbox.pk, error)
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_polled_at=now, imap_last_error=error[:200])
    mailbox.imap_polled_at, mailbox.imap_last_error = now, error[:200]
    return PollResult(taken=taken, skipped=skipped, error=error)


def _error_kind(exc: BaseException) -> str:
    """What went wrong, by kind: the server's and the database's words may quote an address."""
    if isinstance(exc, MailboxPollFailed):
        return str(exc)
    if isinstance(exc, imaplib.IMAP4.error):
        return "IMAP error (login or command refused)"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "Timed out"
    if isinstance(exc, ssl.SSLError):
        return "TLS error"
    if isinstance(exc, OSError):
        return f"Connection failed ({type(exc).__name__})"
    return f"Could not record a mail ({type(exc).__name__})"


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _logout(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(imaplib.IMAP4.error, OSError):
        client.logout()


def mailboxes_poll(*, now: datetime | None = None) -> dict[int, PollResult]:
    """Poll every enabled mailbox; one's failure does not stop the others."""
    mailboxes = Mailbox.objects.filter(active=True, imap_enabled=True).exclude(imap_host="")
    return {mailbox.pk: mailbox_poll(mailbox=mailbox, now=now) for mailbox in mailboxes}
