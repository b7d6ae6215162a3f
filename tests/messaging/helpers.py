from datetime import datetime

from csplatform.actors import Actor
from tickets.models import Ticket
from tickets.services import ticket_create

SHOP = Actor(kind="api_key", label="shop")


def ticket_filed(customer, *, now: datetime | None = None, subject: str = "Where is my parcel?"):
    """A ticket the storefront filed for ``customer``, through the service."""
    ticket: Ticket = ticket_create(
        customer=customer,
        kind="inquiry",
        channel="web",
        subject=subject,
        body="Still not here.",
        actor=SHOP,
        now=now,
    )
    return ticket
