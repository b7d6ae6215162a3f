"""Which language to write to a customer in: the one they wrote to us in, else a default.

Shared by everything that writes to customers (survey invitations, customer notices, the
complaint plan posted to the conversation): the customer has no language setting of their own.
"""

from __future__ import annotations

import re

from .choices import AuthorKind
from .models import Message

ZH_HANS = "zh-hans"
EN = "en"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def language_of_text(text: str) -> str | None:
    """Simplified Chinese if the text has Chinese characters, English if it has words in Latin
    letters and no Chinese, ``None`` if it tells nothing (digits, emoji, an order number)."""
    if not text:
        return None
    if _CJK.search(text):
        return ZH_HANS
    if len(_LATIN_WORD.findall(text)) >= 2:
        return EN
    return None


def language_for_customer(customer_id: int, *, default: str = ZH_HANS) -> str:
    """The language of the customer's latest message that tells one (one query)."""
    bodies = (
        Message.objects.filter(ticket__customer_id=customer_id, author_kind=AuthorKind.CUSTOMER)
        .order_by("-created_at", "-id")
        .values_list("body", flat=True)[:5]
    )
    for body in bodies:
        found = language_of_text(body[:500])
        if found:
            return found
    return default
