"""Where a new ticket goes and at which priority: rules over loaded rows, with no queries of their
own, so that the services and the demo seeder decide alike."""

from __future__ import annotations

from collections.abc import Iterable

from orders.choices import CustomerTier

from .choices import PRIORITY_ORDER, PRIORITY_RANK, Priority
from .models import RoutingRule


def routing_rule_for(
    rules: Iterable[RoutingRule], *, kind: str, channel: str, customer_tier: str
) -> RoutingRule | None:
    """The first of the active ``rules`` (in their order) that matches, or None."""
    return next(
        (r for r in rules if r.matches(kind=kind, channel=channel, customer_tier=customer_tier)),
        None,
    )


def priority_raised_to(priority: str, floor: str) -> str:
    return floor if PRIORITY_RANK[priority] < PRIORITY_RANK[floor] else priority


def priority_initial(*, requested: str | None, rule_priority: str, customer_tier: str) -> str:
    """A new ticket's priority: the one asked for, else the routing rule's, else normal; a VIP
    customer's ticket is at least high."""
    priority = requested or rule_priority or Priority.NORMAL
    if customer_tier == CustomerTier.VIP:
        return priority_raised_to(priority, Priority.HIGH)
    return priority


def priority_above(priority: str) -> str | None:
    """The next higher priority; None at the top."""
    rank = PRIORITY_ORDER.index(priority)
    return PRIORITY_ORDER[rank + 1] if rank + 1 < len(PRIORITY_ORDER) else None
