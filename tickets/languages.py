"""Which language to write to a customer in: the one they wrote to us in, else a default.

Shared by everything that writes to customers (survey invitations, customer notices, the
complaint plan posted to the conversation): the customer has no language setting of their own.
"""

from __future__ import annotations

from csplatform.languages import ZH_HANS, language_of_text

from .choices import AuthorKind
from .models import Message


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
