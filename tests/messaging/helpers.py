import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, transaction

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


@contextmanager
def row_locked_elsewhere(model, pk) -> Iterator[None]:
    """The row ``pk`` of ``model`` held ``FOR UPDATE`` by another connection (a second worker)
    while the block runs."""
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                model.objects.select_for_update().get(pk=pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()
