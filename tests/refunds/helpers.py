"""Arrangements the refunds tests share: a delivered order, a request, desk users in its team.

Time is explicit: ``DELIVERED`` is Monday 2 March 2026, 15:00 in Shanghai, and every service
call passes ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from csplatform.actors import Actor
from orders.choices import OrderStatus
from refunds.services import return_request_create
from tests.factories import OrderFactory, agent_user, supervisor_user
from tickets.models import TicketSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DELIVERED = datetime(2026, 3, 2, 15, 0, tzinfo=SHANGHAI)  # a Monday afternoon
DAY = timedelta(days=1)
STOREFRONT = Actor(kind="api_key", label="shop")


def delivered_order(lines=None, *, delivered_at=DELIVERED, **kwargs):
    """A delivered order; by default one line ``TS-1`` of 2 × 99.00 (paid 208.00 with
    shipping)."""
    lines = lines or [{"sku": "TS-1", "unit_price": Decimal("99.00"), "quantity": 2}]
    return OrderFactory(
        status=OrderStatus.DELIVERED,
        lines=lines,
        delivered_at=delivered_at,
        placed_at=delivered_at - timedelta(days=3),
        **kwargs,
    )


def file_request(
    order,
    *,
    lines=(("TS-1", 1),),
    type="return_refund",
    reason="no_reason_7d",
    now=DELIVERED + DAY,
    amount=None,
    description="",
):
    return return_request_create(
        order=order,
        type=type,
        reason=reason,
        lines=list(lines),
        amount=amount,
        description=description,
        actor=STOREFRONT,
        now=now,
    )


def default_team():
    return TicketSettings.load().default_team


def desk_agent(**kwargs):
    """An agent in the team new return tickets are routed to."""
    user = agent_user(**kwargs)
    default_team().members.add(user)
    return user


def desk_supervisor(**kwargs):
    """A supervisor of the team new return tickets are routed to."""
    user = supervisor_user(**kwargs)
    team = default_team()
    team.members.add(user)
    return user
