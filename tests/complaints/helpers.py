"""Arrangements the complaints tests share: a team that receives complaint tickets, its
people at each escalation level, and a complaint walked along its lifecycle.

Time is explicit: ``T0`` is Monday 2 March 2026, 10:00 in Shanghai; complaint timers run on
calendar time (first response 15 min, acceptance 24 h, plan 48 h).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from complaints import services
from complaints.models import Complaint
from csplatform.actors import Actor
from orders.choices import OrderStatus
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    TeamFactory,
    admin_user,
    online_agent,
    senior_agent,
    supervisor_user,
)
from tickets.models import TicketSettings

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # a Monday
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
STOREFRONT = Actor(kind="api_key", label="shop")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Desk:
    """The team complaint tickets are routed to, with one person per escalation level."""

    def __init__(self):
        self.supervisor = supervisor_user(username="zhu.guan")
        self.team = TeamFactory(name="Complaints desk", supervisor=self.supervisor)
        self.team.members.add(self.supervisor)
        settings = TicketSettings.load()
        settings.default_team = self.team
        settings.save()
        self.agent = online_agent(self.team, username="li.na")
        # Offline (no presence): new tickets are assigned to the agent.
        self.senior = senior_agent(self.team, username="wang.senior")
        self.manager = admin_user(username="boss.manager")

    @property
    def agent_actor(self) -> Actor:
        return Actor.for_user(self.agent)


def file_complaint(
    *,
    customer=None,
    order=None,
    category="product_quality",
    description="衣服洗一次就褪色了",
    channel="web",
    now=T0,
) -> Complaint:
    customer = customer or (order.customer if order is not None else CustomerFactory())
    return services.complaint_create(
        customer=customer,
        order=order,
        category=category,
        channel=channel,
        description=description,
        actor=STOREFRONT,
        now=now,
    )


def delivered_order(*, customer=None, total_lines=None, delivered_at=T0 - DAY):
    lines = total_lines or [{"sku": "TS-1", "unit_price": Decimal("99.00"), "quantity": 2}]
    kwargs = {"customer": customer} if customer is not None else {}
    return OrderFactory(
        status=OrderStatus.DELIVERED,
        lines=lines,
        delivered_at=delivered_at,
        placed_at=delivered_at - 3 * DAY,
        **kwargs,
    )


def refresh(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_related("ticket").get(pk=complaint.pk)


def walk_to(complaint: Complaint, status: str, actor: Actor, *, now=T0 + HOUR) -> Complaint:
    """Move a complaint along the lifecycle through the services up to ``status``."""
    steps = [
        ("accepted", lambda c: services.complaint_accept(complaint=c, actor=actor, now=now)),
        (
            "investigating",
            lambda c: services.complaint_investigate(complaint=c, actor=actor, now=now),
        ),
        (
            "plan_proposed",
            lambda c: services.complaint_propose_plan(
                complaint=c, plan="为您补发一件新品并赠送20元优惠券", actor=actor, now=now
            ),
        ),
        (
            "awaiting_confirmation",
            lambda c: services.complaint_request_confirmation(
                complaint=services.complaint_remedy_record(
                    complaint=c,
                    remedy_type="replacement",
                    note="补发新品",
                    actor=actor,
                    now=now,
                ),
                actor=actor,
                now=now,
            ),
        ),
    ]
    order = ["received", *[name for name, _step in steps]]
    for name, step in steps:
        if order.index(name) <= order.index(complaint.status):
            continue  # already past this step
        if order.index(name) > order.index(status):
            break
        complaint = step(complaint)
    return refresh(complaint)


__all__ = ["admin_user", "online_agent"]
