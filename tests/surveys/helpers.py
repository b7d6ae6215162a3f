"""Arranging survey situations: a team with its supervisor, tickets solved through the
ticket services (so the real signals fire on commit), sweeps at given times."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from csplatform.actors import Actor
from surveys.models import SurveyInvitation
from surveys.sweeper import surveys_sweep
from tests.factories import (
    CustomerFactory,
    MessageFactory,
    TeamFactory,
    TicketFactory,
    agent_user,
    supervisor_user,
)
from tickets.choices import TicketStatus
from tickets.models import RoutingRule
from tickets.services import ticket_customer_message, ticket_update

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
STOREFRONT = Actor(kind="api_key", label="storefront")


class Desk:
    """A team, its supervisor (a member) and an agent."""

    def __init__(self, *, supervisor_is_member: bool = True, routes_here: bool = True):
        self.supervisor = supervisor_user()
        self.agent = agent_user()
        members = [self.agent, self.supervisor] if supervisor_is_member else [self.agent]
        self.team = TeamFactory(supervisor=self.supervisor, members=members)
        if routes_here:
            # New tickets (follow-ups too) are routed to this team, as its tickets were.
            RoutingRule.objects.create(name=f"to {self.team.name}", position=1, team=self.team)

    def ticket(
        self, *, customer=None, body: str = "我的快递三天没有更新了", at=T0, status=None, **kwargs
    ):
        ticket = TicketFactory(
            team=self.team,
            assignee=self.agent,
            customer=customer or CustomerFactory(),
            status=status or TicketStatus.OPEN,
            created_at=at,
            **kwargs,
        )
        MessageFactory(ticket=ticket, body=body, created_at=at)
        return ticket


def solve(ticket, by_user, at: datetime, capture) -> None:
    with capture(execute=True):
        ticket_update(ticket=ticket, by_user=by_user, status=TicketStatus.SOLVED, now=at)


def reopen(ticket, at: datetime, capture) -> None:
    """The customer writes again: a solved ticket reopens."""
    with capture(execute=True):
        ticket_customer_message(ticket=ticket, body="还是没有收到", actor=STOREFRONT, now=at)


def sweep(at: datetime, capture):
    with capture(execute=True):
        return surveys_sweep(now=at)


def csat_of(ticket) -> SurveyInvitation | None:
    return SurveyInvitation.objects.filter(kind="csat", ticket=ticket).first()
