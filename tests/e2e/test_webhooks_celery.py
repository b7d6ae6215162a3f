"""Every webhook event reaches the storefront, in order per ticket, through a real Celery worker
and beat, while the worker is killed (``SIGKILL``) twice and Redis restarts once (issue #18).

A private redis-server, a worker (two processes) and beat run with the production settings,
beat's webhook sweep every 5 seconds (``WEBHOOKS_SWEEP_SECONDS``; 20 in production) and the
worker's timeouts at 1 + 2 seconds for the loopback receiver (which leases a claimed delivery
for 18 s and more: ``delivery.py``). A producer process writes 1,000 events, 20 public replies
to each of 50 tickets, through ``ticket_reply``; a real HTTP receiver on 127.0.0.1 checks each
delivery's signature and notes it. A killed worker's wake-up message stays reserved in Redis
for its visibility timeout (an hour): what it held is sent by the beat sweep once its lease
ends; the wake-ups lost with Redis likewise.
"""

import sys
import time
from collections import defaultdict

import pytest

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.models import OutboxEvent, WebhookDelivery
from tests.e2e.processes import BASE_DIR, Services
from tests.factories import CustomerFactory, agent_user, webhook_endpoint
from tests.messaging.helpers import ticket_filed
from tests.messaging.receiver import receiver_start, signature_valid
from tests.redis_server import REDIS_SERVER

TICKETS = 50
ROUNDS = 20  # replies to each ticket: 1,000 events
DEADLINE = 170  # seconds from the first reply for every event to be delivered

pytestmark = [
    pytest.mark.postgres(reason="the worker, beat and producer reach the test database by URL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="needs redis-server on PATH: the test starts a Redis of its own to restart it",
    ),
]


@pytest.fixture
def receiver():
    receiver = receiver_start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def services(tmp_path):
    running = Services(
        tmp_path,
        WEBHOOKS_SWEEP_SECONDS="5",
        WEBHOOKS_CONNECT_TIMEOUT="1",
        WEBHOOKS_READ_TIMEOUT="2",
        WEBHOOKS_ALLOW_PRIVATE_TARGETS="true",
    )
    try:
        running.start_redis()
        running.start_beat()
        running.start_worker()
        yield running
    finally:
        running.stop_all()


def test_every_event_arrives_in_order_per_ticket_across_worker_kills_and_a_redis_restart(
    services, receiver, capsys, record_property
):
    _, secret = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_MESSAGE_CREATED])
    tickets = [ticket_filed(CustomerFactory(), subject=f"Parcel {n}") for n in range(TICKETS)]
    agent = agent_user()
    # Two producers, as two web server processes: each replies to half of the tickets.
    producers = [
        services.start_process(
            "producer",
            [
                sys.executable,
                str(BASE_DIR / "tests" / "e2e" / "webhook_producer.py"),
                str(agent.pk),
                str(ROUNDS),
                *(str(ticket.pk) for ticket in tickets[half::2]),
            ],
        )
        for half in (0, 1)
    ]
    total = TICKETS * ROUNDS
    # (events written when it happens, what happens)
    plan = [
        (150, "kill the worker mid-attempt"),
        (400, "stop Redis"),
        (650, "kill the worker"),
    ]
    done: list[str] = []
    started = time.monotonic()
    redis_down_at = None
    try:
        while time.monotonic() - started < DEADLINE:
            written = OutboxEvent.objects.count()
            if plan and written >= plan[0][0]:
                _, what = plan.pop(0)
                if what == "kill the worker mid-attempt":
                    arrived = len(receiver.received)
                    receiver.answers = [("sleep", 1.5)]  # under the worker's 2 s read timeout
                    waited = time.monotonic()
                    while len(receiver.received) == arrived and time.monotonic() - waited < 10:
                        time.sleep(0.02)
                    services.kill_worker()
                    time.sleep(1)
                    services.start_worker()
                elif what == "kill the worker":
                    services.kill_worker()
                    time.sleep(1)
                    services.start_worker()
                else:
                    services.stop_redis()
                    redis_down_at = time.monotonic()
                done.append(f"{what} at {written} events, {time.monotonic() - started:.0f} s")
            # Down for 7 s: longer than the 5 s sweep, so that a sweep falls into the outage.
            if redis_down_at is not None and time.monotonic() - redis_down_at >= 7:
                services.start_redis()
                redis_down_at = None
                done.append(f"Redis back at {time.monotonic() - started:.0f} s")
            unique = {r.webhook_id for r in list(receiver.received)}
            finished = all(producer.poll() is not None for producer in producers)
            if finished and not plan and len(unique) >= total:
                break
            time.sleep(0.5)
        took = time.monotonic() - started
    finally:
        for producer in producers:
            if producer.poll() is None:
                producer.kill()
                producer.wait(timeout=10)

    logs = services.log_tails()
    assert [producer.returncode for producer in producers] == [0, 0], logs
    assert not plan, f"the producer stopped early: {done}\n{logs}"
    events = {str(e.id): e for e in OutboxEvent.objects.all()}
    assert len(events) == total, logs
    received = list(receiver.received)
    assert all(signature_valid(secret, r.headers, r.body) for r in received)
    first_arrivals: dict[str, dict] = {}
    for r in received:
        first_arrivals.setdefault(r.webhook_id, r.document)
    missing = set(events) - set(first_arrivals)
    assert not missing, f"{len(missing)} events never arrived ({done})\n{logs}"
    assert not set(first_arrivals) - set(events)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {
        DeliveryStatus.DELIVERED
    }
    rounds_seen: dict[str, list[int]] = defaultdict(list)
    for document in first_arrivals.values():
        number, round_ = document["data"]["message"]["body"].split(" #")
        assert number == document["data"]["ticket"]["number"]
        rounds_seen[number].append(int(round_))
    assert len(rounds_seen) == TICKETS
    out_of_order = {n: seen for n, seen in rounds_seen.items() if seen != sorted(seen)}
    assert not out_of_order, out_of_order
    assert all(seen == list(range(1, ROUNDS + 1)) for seen in rounds_seen.values())

    duplicates = len(received) - len(first_arrivals)
    record_property("duplicates", duplicates)
    record_property("seconds", round(took, 1))
    with capsys.disabled():
        print(
            f"\n[webhooks e2e] {total} events delivered, in order per ticket, in {took:.0f} s;"
            f" {len(received)} requests received, {duplicates} duplicates; " + "; ".join(done)
        )
