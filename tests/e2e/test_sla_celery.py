"""A breach is noticed within a minute of its due time by a real Celery beat and worker, also
when the worker is killed or Redis restarts meanwhile (sla.md, "Enforcement").

Each test starts its own redis-server on a free port, a worker and beat with the production
settings (``csplatform.settings.base``: tasks go through the broker) pointed at the test
database and that Redis, and creates a ticket whose first response is due in one minute.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from csplatform.actors import Actor
from tests.e2e.processes import Services
from tests.factories import CustomerFactory, TeamFactory, online_agent, supervisor_user
from tests.redis_server import REDIS_SERVER
from tickets.models import Notification, SlaClock, SlaEvent, SlaPolicy, SlaTarget, TicketSettings
from tickets.services import ticket_create

DEADLINE = timedelta(seconds=90)  # from the ticket's creation; due after 60 s
DISRUPT_AFTER = 20  # seconds after the creation
DOWN_FOR = 16  # seconds: longer than beat's 15 s, so a sweep falls into the outage

pytestmark = [
    # database_url() spells the test database as a postgres:// URL for the worker and beat.
    pytest.mark.postgres(reason="the worker and beat reach the test database by a postgres URL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="needs redis-server on PATH: the test starts a Redis of its own to restart it",
    ),
]


@pytest.fixture
def services(tmp_path):
    running = Services(tmp_path)
    try:
        running.start_redis()
        running.start_beat()
        running.start_worker()
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def supervisor():
    team = TeamFactory(name="Service desk")
    team.supervisor = supervisor_user(username="boss")
    team.save()
    online_agent(team, username="li.na")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    policy = SlaPolicy.objects.create(name="One minute", position=1)
    SlaTarget.objects.create(policy=policy, metric="first_response", minutes=1)
    return team.supervisor


@pytest.mark.parametrize("disruption", ["none", "worker_killed", "redis_restarted"])
def test_a_breach_is_noticed_within_90_seconds_by_a_real_worker_and_beat(
    services, supervisor, disruption, capsys, record_property
):
    created = timezone.now()
    ticket = ticket_create(
        customer=CustomerFactory(),
        kind="inquiry",
        channel="web",
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=Actor(kind="api_key", label="storefront"),
        now=created,
    )
    clock = SlaClock.objects.get(ticket=ticket, metric="first_response")
    assert ticket.assignee is not None
    assert clock.due_at == created + timedelta(minutes=1)
    disrupted = restored = False

    while timezone.now() < created + DEADLINE:
        time.sleep(1)
        elapsed = (timezone.now() - created).total_seconds()
        if disruption != "none" and not disrupted and elapsed >= DISRUPT_AFTER:
            if disruption == "worker_killed":
                services.kill_worker()
            else:
                services.stop_redis()
            disrupted = True
        if disrupted and not restored and elapsed >= DISRUPT_AFTER + DOWN_FOR:
            if disruption == "worker_killed":
                services.start_worker()
            else:
                services.start_redis()
            restored = True
        clock.refresh_from_db()
        told = Notification.objects.filter(user=supervisor, ticket=ticket, kind="sla_breach")
        if clock.status == "breached" and told.exists():
            break
    seen = timezone.now()

    assert clock.status == "breached", services.log_tails()
    assert told.exists(), services.log_tails()
    [breach] = SlaEvent.objects.filter(clock=clock, kind="breach")
    assert clock.breached_at == clock.due_at
    assert sorted(
        Notification.objects.filter(sla_event=breach).values_list("user__username", flat=True)
    ) == ["boss", "li.na"]
    after_due = (breach.at - clock.due_at).total_seconds()
    after_creation = (seen - created).total_seconds()
    record_property("seconds_after_due", round(after_due, 1))
    with capsys.disabled():
        print(
            f"\n[sla e2e, {disruption}] breach noticed {after_due:.1f} s after the due time, "
            f"seen {after_creation:.1f} s after the ticket was created"
        )
