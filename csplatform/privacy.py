"""Masking of customers' personal data for display: the desk never shows it whole."""

from __future__ import annotations


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
