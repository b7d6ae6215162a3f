"""Which language to ask a customer in: the one they wrote to us in, else the default."""

from __future__ import annotations

from csplatform.languages import language_of_text
from tickets.choices import AuthorKind
from tickets.models import Message

__all__ = ["language_for_customer", "language_of_text"]


def language_for_customer(customer_id: int, *, default: str) -> str:
    """The language of the customer's latest message that tells one."""
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
