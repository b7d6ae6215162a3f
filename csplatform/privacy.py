"""Masking of customers' personal data for display: the desk never shows it whole."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from django.conf import settings


def mask_phone(phone: str | None) -> str:
    """``13812348000`` -> ``138****8000``; short or odd numbers keep only their last two digits."""
    if not phone:
        return ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86 country code of a mainland mobile number
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) >= 7:
        return f"{digits[:2]}{'*' * (len(digits) - 4)}{digits[-2:]}"
    return "*" * max(len(digits) - 2, 1) + digits[-2:] if digits else "****"


def mask_email(email: str | None) -> str:
    """``zhang.wei@example.com`` -> ``z***@example.com``."""
    if not email:
        return ""
    local, sep, domain = email.partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_name(name: str | None) -> str:
    """``张伟`` -> ``张*``; ``Li Na`` -> ``L***``."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1) if len(name) <= 3 else name[0] + "***"


def mask_address(address: dict | None) -> str:
    """An address to district level: ``广东省 深圳市 南山区``; street, name and phone left out."""
    if not address:
        return ""
    parts = (address.get(key) for key in ("province", "city", "district"))
    return " ".join(str(part) for part in parts if part)


# --- Blind indexes: exact search over encrypted columns ---------------------------------------


def normalise_phone(phone: str | None) -> str:
    """The digits of a phone number, without the +86 of a mainland mobile number."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def _keyed_hash(kind: str, value: str) -> str:
    key = settings.PII_BLIND_INDEX_KEY.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def phone_blind_index(phone: str | None) -> str:
    """The keyed hash stored beside an encrypted phone: equal numbers, equal hashes."""
    digits = normalise_phone(phone)
    return _keyed_hash("phone", digits) if digits else ""


def email_blind_index(email: str | None) -> str:
    """The keyed hash stored beside an encrypted e-mail address, case-insensitive."""
    address = normalise_email(email)
    return _keyed_hash("email", address) if address else ""


# --- Log output ------------------------------------------------------------------------------

# A mainland mobile number (optionally +86, spaces or dashes inside) or any run of 7+ digits
# that looks like a phone number; an e-mail address.
_PHONE_IN_TEXT = re.compile(r"(?<![\w-])(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def redact_contact_details(text: str) -> str:
    """The text with every mobile number and e-mail address in it masked."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()), text)
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)


class PiiLogFilter(logging.Filter):
    """Masks phone numbers and e-mail addresses in log records, tracebacks included.

    Code should not log personal data at all; this is the safety net for what slips through
    (an exception message quoting a value, a third-party library's debug line).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_contact_details(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_contact_details(record.exc_text)
        return True
