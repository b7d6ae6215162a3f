"""A raw RFC 822 message read into what the desk needs: addresses, threading headers, the text
and sanitised HTML bodies in any charset, the attachments, the signs of an automatic mail, and
the text with its quoted history trimmed for display. Pure: no database.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage as MimeMessage
from email.message import Message as LegacyMimeMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

import nh3

from csplatform.errors import InvalidInput

from .choices import IgnoredReason

# Chinese mail labelled GB2312 or GBK often holds characters only GB18030 (a superset of both)
# has; decoding with the label's narrower codec would turn them into replacement characters.
_CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030"}
# Tried in turn for a part without a usable charset label.
_FALLBACK_CHARSETS = ("utf-8", "gb18030")
_MAX_HEADER_ID = 300


class MailUnreadable(InvalidInput):
    """400: the body is not an e-mail the desk can take (no sender, no headers)."""

    code = "email_unreadable"


@dataclass(frozen=True)
class MailAttachment:
    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without angle brackets; derived from the bytes when the mail has none
    sender: str  # the From address, lower-cased
    sender_name: str
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To: lower-cased addresses
    subject: str
    in_reply_to: str
    references: list[str]
    text: str  # in full (for HTML-only mail: derived from the sanitised HTML)
    html: str  # sanitised
    attachments: list[MailAttachment] = field(default_factory=list)
    automatic: IgnoredReason | None = None  # why the mail is an automatic one, if it is

    @property
    def thread_ids(self) -> list[str]:
        """The Message-IDs the mail answers: In-Reply-To first, then the References, newest
        first (the last reference is the mail it answers)."""
        ids = [self.in_reply_to] if self.in_reply_to else []
        ids += [ref for ref in reversed(self.references) if ref not in ids]
        return ids


# --- Headers ----------------------------------------------------------------------------------


def _header(message: LegacyMimeMessage, name: str) -> str:
    """A header's decoded value, ``""`` when missing or unreadable (a malformed encoded word)."""
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError, LookupError):
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _raw_header(message: LegacyMimeMessage, name: str) -> str:
    """A header as it stands in the mail (the raw folded text), for ids and addresses."""
    for key, value in message.raw_items() if isinstance(message, MimeMessage) else []:
        if key.lower() == name.lower():
            return " ".join(str(value).split())
    return ""


_ANGLE_ID = re.compile(rf"<([^<>\s]{{1,{_MAX_HEADER_ID}}})>")


def message_ids(value: str) -> list[str]:
    """The ids of a Message-ID, In-Reply-To or References header, without angle brackets."""
    found = _ANGLE_ID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]  # a bare id some mailers send
    return [i for i in dict.fromkeys(found) if i][:50]


def _addresses(message: LegacyMimeMessage, *names: str) -> list[str]:
    values = [_raw_header(message, name) for name in names]
    pairs = getaddresses([v for v in values if v])
    return list(dict.fromkeys(addr.strip().lower() for _, addr in pairs if "@" in addr))


def _sender(message: LegacyMimeMessage) -> tuple[str, str]:
    """The From address (lower-cased) and display name."""
    try:
        header = message.get("From")
        addresses: tuple[Address, ...] = getattr(header, "addresses", ())
    except (ValueError, TypeError, IndexError, LookupError):
        addresses = ()
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return address.addr_spec.strip().lower(), address.display_name.strip()
    name, addr = parseaddr(_raw_header(message, "From"))
    return (addr.strip().lower(), name.strip()) if "@" in addr else ("", "")


# --- Automatic mail ----------------------------------------------------------------------------

_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)


def automatic_reason(message: LegacyMimeMessage, sender: str) -> IgnoredReason | None:
    """Why the mail was sent by a machine (and must open no ticket nor get an answer), if it was.

    RFC 3834 ``Auto-Submitted`` other than ``no``; ``Precedence: bulk/junk/list``; the
    ``X-Autoreply``/``X-Autorespond`` headers of common responders; a null return path
    (``<>``, bounces and RFC 3834 responses); a delivery report (``multipart/report``) or a
    mail from a mailer daemon or postmaster.
    """
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return IgnoredReason.AUTO_SUBMITTED
    if _header(message, "Precedence").lower() in {"bulk", "junk", "list"}:
        return IgnoredReason.BULK
    if any(_header(message, name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return IgnoredReason.AUTO_REPLY
    return_path = _raw_header(message, "Return-Path")
    if return_path and not return_path.strip("<> "):
        return IgnoredReason.NULL_SENDER
    if message.get_content_type() == "multipart/report" or _BOUNCE_SENDERS.match(sender):
        return IgnoredReason.BOUNCE
    return None


# --- Bodies -----------------------------------------------------------------------------------


def _decode(payload: bytes, charset: str | None) -> str:
    label = (charset or "").strip().strip('"').lower()
    label = _CHARSET_SUPERSETS.get(label, label)
    if label:
        try:
            return payload.decode(label)
        except (LookupError, UnicodeDecodeError):
            pass
    for fallback in _FALLBACK_CHARSETS:
        try:
            return payload.decode(fallback)
        except UnicodeDecodeError:
            continue
    return payload.decode(label if _known(label) else "utf-8", errors="replace")


def _known(label: str) -> bool:
    try:
        "".encode(label)
    except LookupError:
        return False
    return bool(label)


def _part_bytes(part: LegacyMimeMessage) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        return b""
    return payload if isinstance(payload, bytes) else b""


def _part_text(part: LegacyMimeMessage) -> str:
    return _decode(_part_bytes(part), part.get_content_charset())


def _filename(part: LegacyMimeMessage) -> str | None:
    try:
        return part.get_filename()
    except (ValueError, TypeError, IndexError, LookupError):
        return "attachment"


def _is_attachment(part: LegacyMimeMessage) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    # An inline image or file with a name (a pasted screenshot) is kept as an attachment too.
    return part.get_content_maintype() not in ("text", "multipart", "message") or bool(
        disposition == "inline" and _filename(part)
    )


def sanitise_html(raw: str) -> str:
    """The HTML with everything that could run or fetch removed (``nh3``: scripts, styles,
    event handlers, ``javascript:`` links); links get ``rel="noopener noreferrer"``."""
    return nh3.clean(raw).strip()


_BLOCK_TAGS = {
    "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "table", "ul", "ol", "hr",
}  # fmt: skip


class _TextOfHtml(HTMLParser):
    """The text of (already sanitised) HTML, one line per block."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(sanitised: str) -> str:
    parser = _TextOfHtml()
    parser.feed(sanitised)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- Quoted history ---------------------------------------------------------------------------

_QUOTE_HEADS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE),
    re.compile(r"^\s*在.{0,300}写道[:：]\s*$"),
    re.compile(
        r"^\s*-{2,}\s*(Original Message|原始邮件|Forwarded message|转发的邮件)\s*-{2,}\s*$", re.I
    ),
]
_HEADER_BLOCK_START = re.compile(r"^\s*\**(From|发件人)\s*\**\s*[:：]", re.IGNORECASE)
_HEADER_BLOCK_NEXT = re.compile(
    r"^\s*\**(Sent|Date|To|Cc|Subject|发送时间|时间|日期|收件人|抄送|主题)\s*\**\s*[:：]",
    re.IGNORECASE,
)


def _quote_starts(lines: list[str], i: int) -> bool:
    line = lines[i]
    # "On Mon, 7 Dec 2026 at 10:00, Zhang Wei <...>" folded before "wrote:".
    joined = line if i + 1 >= len(lines) else f"{line} {lines[i + 1]}"
    if any(p.match(line) for p in _QUOTE_HEADS) or (
        re.match(r"^\s*(On\b|在)", line) and any(p.match(joined) for p in _QUOTE_HEADS[:2])
    ):
        return True
    if _HEADER_BLOCK_START.match(line):
        return any(_HEADER_BLOCK_NEXT.match(nxt) for nxt in lines[i + 1 : i + 4])
    return False


def trim_quoted(text: str) -> str:
    """The new part of a reply: everything from the quoted history's head ("On … wrote:",
    "在 … 写道：", "-----Original Message-----", a "From:"/"发件人:" header block) on is cut,
    and ">" quoted lines dropped. A mail that is nothing but quotes is kept whole."""
    lines = text.splitlines()
    for i in range(len(lines)):
        if _quote_starts(lines, i):
            lines = lines[:i]
            break
    kept = [line for line in lines if not line.lstrip().startswith(">")]
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


# --- The whole message ------------------------------------------------------------------------


def mail_parse(raw: bytes) -> ParsedMail:
    """Read a raw message; ``MailUnreadable`` when it has no sender address."""
    if not raw or not raw.strip():
        raise MailUnreadable("The body is empty.")
    try:
        message = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the parser is lenient; anything it still chokes on is garbage
        raise MailUnreadable("The body is not an RFC 822 message.") from exc
    sender, sender_name = _sender(message)
    if not sender:
        raise MailUnreadable("The message has no From address.")

    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[MailAttachment] = []
    parts = message.walk() if message.is_multipart() else [message]
    for part in parts:
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        if _is_attachment(part) and part is not message:
            attachments.append(
                MailAttachment(
                    name=_filename(part) or "attachment",
                    content_type=content_type,
                    content=_part_bytes(part),
                )
            )
        elif content_type == "text/plain":
            texts.append(_part_text(part))
        elif content_type == "text/html":
            htmls.append(_part_text(part))
    clean_html = sanitise_html("\n".join(htmls)) if htmls else ""
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text and clean_html:
        text = html_to_text(clean_html)
    ids = message_ids(_raw_header(message, "Message-ID"))
    message_id = ids[0] if ids else f"{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid"
    in_reply_to = message_ids(_raw_header(message, "In-Reply-To"))
    return ParsedMail(
        message_id=message_id[:_MAX_HEADER_ID],
        sender=sender,
        sender_name=sender_name[:100],
        recipients=_addresses(message, "To", "Cc", "Delivered-To", "X-Original-To"),
        subject=_header(message, "Subject")[:300],
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=message_ids(_raw_header(message, "References")),
        text=text.replace("\r\n", "\n"),
        html=clean_html,
        attachments=attachments,
        automatic=automatic_reason(message, sender),
    )
