"""A busy week for the dashboard's browser test and screenshots: tickets with stopped clocks,
agent replies and CSAT answers, written straight to the tables (no lifecycle needed)."""

from __future__ import annotations

import random
from datetime import timedelta

from kpis.definitions import TARGET_DEFAULTS
from kpis.models import KpiTarget
from surveys.choices import InvitationStatus, SurveyKind
from tests.factories import (
    CustomerFactory,
    SurveyInvitationFactory,
    SurveyResponseFactory,
    TeamFactory,
    TicketFactory,
)
from tickets.choices import AuthorKind, TicketStatus
from tickets.models import ClockStatus, Message, SlaClock

from .conftest import at


def targets_default() -> None:
    """The product.md targets (a transactional test flushed the data migration's rows)."""
    for metric, (value, direction) in TARGET_DEFAULTS.items():
        KpiTarget.objects.get_or_create(
            metric=metric, defaults={"value": value, "direction": direction}
        )


def busy_week(agents_by_team: dict, *, seed: int = 7, per_day: int = 14) -> None:
    """Mon 16 – Sun 22 November 2026: ``per_day`` tickets a day over the given teams."""
    rng = random.Random(seed)
    customers = [CustomerFactory(tier="regular") for _ in range(5)] + [CustomerFactory(tier="vip")]
    teams = list(agents_by_team)
    for day in range(16, 23):
        for _ in range(per_day):
            team = rng.choice(teams)
            agent = rng.choice(agents_by_team[team])
            created = at(day, rng.randint(8, 20), rng.randint(0, 59))
            status = rng.choice(
                [TicketStatus.SOLVED] * 5 + [TicketStatus.CLOSED] * 2 + [TicketStatus.OPEN]
            )
            done = status != TicketStatus.OPEN
            ticket = TicketFactory(
                team=team,
                assignee=agent,
                owner=agent,
                status=status,
                channel=rng.choice(["web", "chat", "app", "phone"]),
                kind=rng.choice(["inquiry", "order_issue", "after_sales"]),
                customer=rng.choice(customers),
                created_at=created,
                solved_at=created + timedelta(minutes=rng.randint(20, 600)) if done else None,
                reopen_count=1 if rng.random() < 0.1 else 0,
            )
            first = rng.choice([2, 4, 6, 9, 12, 14, 18, 25, 40])
            Message.objects.create(
                ticket=ticket,
                author_kind=AuthorKind.AGENT,
                author_user=agent,
                body="您好",
                channel=ticket.channel,
                created_at=created + timedelta(minutes=first),
            )
            SlaClock.objects.create(
                ticket=ticket,
                metric="first_response",
                target_minutes=15,
                status=ClockStatus.MET if first < 15 else ClockStatus.BREACHED,
                started_at=created,
                stopped_at=created + timedelta(minutes=first),
                used=timedelta(minutes=first),
            )
            if done:
                handling = ticket.solved_at - created
                SlaClock.objects.create(
                    ticket=ticket,
                    metric="handling",
                    target_minutes=24 * 60,
                    status=ClockStatus.MET,
                    started_at=created,
                    stopped_at=ticket.solved_at,
                    used=handling,
                )
                if rng.random() < 0.5:
                    invitation = SurveyInvitationFactory(
                        kind=SurveyKind.CSAT,
                        ticket=ticket,
                        created_at=ticket.solved_at,
                        status=InvitationStatus.ANSWERED,
                        answered_at=ticket.solved_at + timedelta(hours=2),
                    )
                    # Attributed, and answered, as its invitation (the ticket's).
                    SurveyResponseFactory(
                        invitation=invitation, score=rng.choice([5, 5, 4, 4, 3, 2])
                    )


def teams_with_agents(names=("华东组", "华南组")) -> dict:
    from tests.factories import online_agent

    out = {}
    for n, name in enumerate(names):
        team = TeamFactory(name=name)
        out[team] = [
            online_agent(team, username=f"agent{n}{i}", first_name=f"客服{n}{i}") for i in range(3)
        ]
    return out
