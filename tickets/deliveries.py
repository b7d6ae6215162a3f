"""How the ticket page learns where each public message went (e-mail, the storefront's
webhook) and whether it got there.

Tickets sits below the apps that deliver messages and may not import them: each registers a
function here from its ``AppConfig.ready()``; the ticket page asks them all for the whole
conversation at once, so the page's queries do not grow with its messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from .models import Message, Ticket


@dataclass(frozen=True)
class Delivery:
    """One way a message went out (or came in), as the desk shows it under the message.

    ``way``: how it went, a stable code (``email``, ``webhook``); ``channel``: its label
    (translated); ``state``: ``sent``, ``queued``, ``failed``, ``received`` or ``not_sent``;
    ``at``: when it was sent or received; ``reason``: why it failed or was not sent;
    ``retry_url``: where a POST sends it again, when it may be."""

    key: str
    way: str
    channel: str
    state: str
    at: datetime | None = None
    reason: str = ""
    retry_url: str = ""


# (the ticket, its messages in order) -> {message id: the deliveries of that message}
DeliveryFunction = Callable[[Ticket, Sequence[Message]], dict[int, list[Delivery]]]

_sources: dict[str, DeliveryFunction] = {}


def message_delivery_register(*, name: str, deliveries: DeliveryFunction) -> None:
    """Ask ``deliveries`` for the deliveries of every ticket page's messages. Registering a
    name again replaces its function."""
    _sources[name] = deliveries


def message_deliveries(ticket: Ticket, messages: Sequence[Message]) -> dict[int, list[Delivery]]:
    """The deliveries of the messages (of ``ticket``), by message id, from every registered
    source in the order of their names; each source asks a fixed number of queries."""
    found: dict[int, list[Delivery]] = {}
    for _name, deliveries in sorted(_sources.items()):
        for message_id, rows in deliveries(ticket, messages).items():
            found.setdefault(message_id, []).extend(rows)
    return found
