"""The product under a mixed load while its Celery worker is killed and its Redis goes away
(issue #16, item 6): how many requests fail, whether a failure ever hides a committed change,
and whether the money and SLA invariants hold afterwards.

Everything runs on 127.0.0.1: a PRIVATE redis-server on a port of its own (the broker and the
throttles' cache of the product under test; the machine's Redis is never touched), the web
server of `make run` (uvicorn, a pool of 8 PostgreSQL connections), a Celery worker and beat,
all with the production settings module against the PostgreSQL database of DATABASE_URL,
whose name must contain "chaos" (it is dropped and created again).

The load, for ``--seconds`` (default 75): storefront clients put orders, open tickets and add
customer messages; agents reply to the newest tickets; returns race on 12 shared delivered
orders (auto-approved refunds at filing, others approved by a supervisor as they come) with a
payout gateway taking 100 ms a call; a monitor reads /healthz/ twice a second. Meanwhile:
the worker is killed (SIGKILL) at 15 s and started again at 25 s; Redis is stopped at 35 s and
started again at 47 s. Every new ticket has a one-minute first-response target, so the SLA
sweep warns and breaches through both disruptions.

Afterwards: the worker and beat get 90 s to pay what is pending (the stuck-payout sweep runs
every minute), then the stuck-payout sweep runs once as it would ten minutes on (a payout cut
short by the kill holds a five-minute lease, waited for first: the run may take 8 minutes) and
the worker gets 60 s more. The script checks:
no 5xx outside the Redis window, no 5xx or unanswered write hiding a committed change,
refunded <= paid on every order and equal to its refunds that did not fail, one gateway
payout per refund (and one per succeeded refund), no refund left pending, one SLA event per
clock, kind and level. It prints a JSON report last and exits 1 if an invariant is broken.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_chaos .venv/bin/python tests/perf/chaos.py
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.perf.loopback import (  # noqa: E402
    PYTHON,
    Tally,
    free_port,
    request,
    start,
    stop,
    wait_for,
)
from tests.redis_server import PrivateRedis  # noqa: E402

CELERY = str(ROOT / ".venv" / "bin" / "celery")
UVICORN = str(ROOT / ".venv" / "bin" / "uvicorn")
SHARED_ORDERS = 12
KILL_WORKER_AT, WORKER_BACK_AT = 15, 25
REDIS_DOWN_AT, REDIS_BACK_AT = 35, 47
GRACE = 3  # seconds after Redis is back that still count as its window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=75)
    parser.add_argument("--storefronts", type=int, default=4, help="storefront client threads")
    parser.add_argument("--agents", type=int, default=2, help="agent threads")
    parser.add_argument("--racers", type=int, default=4, help="threads filing returns")
    args = parser.parse_args()
    if args.seconds < REDIS_BACK_AT + 10:
        sys.exit(f"--seconds must be at least {REDIS_BACK_AT + 10}")

    database_url = os.environ.get("DATABASE_URL", "")
    if (
        not database_url.startswith(("postgres://", "postgresql://"))
        or "chaos" not in (database_url.rsplit("/", 1)[-1])
    ):
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name contains 'chaos'.")
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    redis = PrivateRedis()
    env = {
        "DJANGO_SETTINGS_MODULE": "csplatform.settings.base",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "REFUND_GATEWAY_LATENCY_MS": "100",
        "THROTTLE_STOREFRONT": "100000/min",
        "THROTTLE_DESK": "100000/min",
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    recreate_database(database_url)
    fixture = prepare(env)

    port = free_port()
    processes: dict[str, object] = {}
    logs = {name: workdir / f"{name}.log" for name in ("web", "worker", "beat")}
    report: dict = {}
    try:
        redis.start()
        processes["web"] = start(
            [
                UVICORN,
                "csplatform.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            logs["web"],
            {"DB_POOL_SIZE": "8"},
        )
        processes["beat"] = start(
            [CELERY, "-A", "csplatform", "beat", "--schedule", str(workdir / "beat-schedule")],
            logs["beat"],
        )
        processes["worker"] = start_worker(logs["worker"])
        wait_for(port, "/healthz/", processes["web"], 60, logs["web"])
        report = run(port, fixture, args, redis, processes, logs)
    finally:
        for name in ("web", "beat", "worker"):
            stop(processes.get(name), signal.SIGKILL if name == "worker" else signal.SIGTERM)
        redis.stop()
    web_log = logs["web"].read_text(errors="replace")
    report["web_log"] = {
        "tasks_not_queued_broker_down": web_log.count("Could not queue"),
        "throttle_cache_warnings": web_log.count("API throttling: the shared cache failed"),
        "deadlocks": web_log.count("django.db.utils.OperationalError: deadlock detected"),
    }
    report["logs"] = str(workdir)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    sys.exit(0 if report.get("invariants_hold") else 1)


def start_worker(log: Path):
    process = start([CELERY, "-A", "csplatform", "worker", "-c", "2", "-l", "INFO"], log)
    end = time.monotonic() + 60
    while b" ready." not in log.read_bytes().split(b"--- restart ---")[-1]:
        if time.monotonic() > end or process.poll() is not None:
            raise RuntimeError("the worker did not start")
        time.sleep(0.2)
    return process


def recreate_database(database_url: str) -> None:
    import environ
    import psycopg
    from psycopg import sql

    config = environ.Env.db_url_config(database_url)
    server = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        name = sql.Identifier(config["NAME"])
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def prepare(env: dict) -> dict:
    """Migrate, then the people, keys, SLA policy and shared orders of the run."""
    import subprocess

    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, check=True, capture_output=True
    )
    import django

    django.setup()
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from orders.choices import OrderStatus
    from refunds.models import RefundRules
    from tests.factories import (
        OrderFactory,
        online_agent,
        storefront_api_key,
        supervisor_user,
    )
    from tickets.models import SlaPolicy, SlaTarget, TicketSettings

    team = TicketSettings.load().default_team
    agents = [online_agent(team, username=f"chaos-agent-{n}", capacity=1000) for n in range(3)]
    boss = supervisor_user(username="chaos-boss")
    team.members.add(boss)
    team.supervisor = boss
    team.save()
    policy = SlaPolicy.objects.create(name="Chaos: one minute", position=0)
    SlaTarget.objects.create(policy=policy, metric="first_response", minutes=1)
    rules = RefundRules.load()
    rules.auto_approve_reasons = ["quality"]
    rules.auto_approve_limit = Decimal("200.00")
    rules.save()
    _, key = storefront_api_key(name="chaos", scopes=["orders", "tickets", "returns"])
    delivered = timezone.now() - timedelta(days=1)
    orders = [
        OrderFactory(
            status=OrderStatus.DELIVERED,
            lines=[
                {"sku": "A", "unit_price": Decimal("50.00"), "quantity": 3},
                {"sku": "B", "unit_price": Decimal("30.00"), "quantity": 3},
            ],
            delivered_at=delivered,
            placed_at=delivered - timedelta(days=3),
        ).number
        for _ in range(SHARED_ORDERS)
    ]
    return {
        "key": key,
        "agents": [Token.objects.create(user=a).key for a in agents],
        "boss": Token.objects.create(user=boss).key,
        "orders": orders,
    }


class Load:
    def __init__(self, port: int, fixture: dict, started: float, until: float):
        self.port, self.fixture, self.started, self.until = port, fixture, started, until
        self.tally = Tally()
        self.writes: list[tuple[str, str, object]] = []  # (kind, marker, result)
        self.tickets: list[str] = []
        self.to_approve: queue.Queue[str] = queue.Queue()
        self.health: list[tuple[object, str]] = []  # (result, its "broker")
        self.lock = threading.Lock()
        self.counter = itertools.count(1)

    def store(self, headers=None) -> dict:
        return {"Authorization": f"Api-Key {self.fixture['key']}", **(headers or {})}

    def call(self, method, path, *, label, body=None, token=None, write=None):
        headers = {"Authorization": f"Token {token}"} if token else self.store()
        result = self.tally.add(
            request(self.port, method, path, label=label, body=body, headers=headers)
        )
        if write is not None:
            with self.lock:
                self.writes.append((write[0], write[1], result))
        return result

    def running(self) -> bool:
        return time.monotonic() < self.until

    def storefront(self, seed: int) -> None:
        rng = random.Random(seed)
        mine: list[str] = []
        while self.running():
            n = next(self.counter)
            roll = rng.random()
            if roll < 0.25:
                number = f"CH-{seed}-{n}"
                self.call(
                    "PUT",
                    f"/api/v1/orders/{number}/",
                    label="order_put",
                    body=order_body(n),
                    write=("order", number),
                )
            elif roll < 0.6 or not mine:
                subject = f"chaos ticket {seed}-{n}"
                result = self.call(
                    "POST",
                    "/api/v1/tickets/",
                    label="ticket_create",
                    body={
                        "customer": {"external_id": f"CHAOS-{seed}-{n % 7}", "name": "混沌"},
                        "kind": "inquiry",
                        "channel": rng.choice(["web", "app", "chat"]),
                        "subject": subject,
                        "body": "我的订单到哪了？",
                    },
                    write=("ticket", subject),
                )
                if result.status == 201:
                    number = result.json()["number"]
                    mine.append(number)
                    with self.lock:
                        self.tickets.append(number)
            else:
                body = f"chaos customer message {seed}-{n}"
                self.call(
                    "POST",
                    f"/api/v1/tickets/{rng.choice(mine[-20:])}/messages/",
                    label="customer_message",
                    body={"body": body},
                    write=("message", body),
                )

    def agent(self, seed: int) -> None:
        rng = random.Random(seed)
        token = self.fixture["agents"][seed % len(self.fixture["agents"])]
        while self.running():
            with self.lock:
                recent = self.tickets[-30:]
            if not recent:
                time.sleep(0.2)
                continue
            body = f"chaos agent reply {seed}-{next(self.counter)}"
            self.call(
                "POST",
                f"/api/v1/tickets/{rng.choice(recent)}/messages/",
                label="agent_reply",
                body={"body": body, "status": rng.choice(["pending", "solved", "on_hold"])},
                token=token,
                write=("message", body),
            )
            if rng.random() < 0.3:
                self.call("GET", "/api/v1/tickets/?view=team", label="agent_queue", token=token)

    def racer(self, seed: int) -> None:
        rng = random.Random(seed)
        while self.running():
            description = f"chaos return {seed}-{next(self.counter)}"
            reason = rng.choice(["quality", "size_fit"])
            result = self.call(
                "POST",
                "/api/v1/returns/",
                label="return_create",
                body={
                    "order_number": rng.choice(self.fixture["orders"]),
                    "type": "refund_only",
                    "reason": reason,
                    "lines": [{"sku": rng.choice(["A", "B"]), "quantity": 1}],
                    "description": description,
                },
                write=("return", description),
            )
            if result.status == 201 and result.json().get("status") == "requested":
                self.to_approve.put(result.json()["id"])

    def supervisor(self) -> None:
        while self.running():
            try:
                public_id = self.to_approve.get(timeout=0.5)
            except queue.Empty:
                continue
            self.call(
                "POST",
                f"/api/v1/returns/{public_id}/approve/",
                label="return_approve",
                body={"reason": "核实无误"},
                token=self.fixture["boss"],
                write=("approval", public_id),
            )

    def monitor(self) -> None:
        while self.running():
            result = request(self.port, "GET", "/healthz/", label="healthz", timeout=5)
            broker = result.json().get("broker", "") if result.status in (200, 503) else ""
            self.health.append((result, broker))
            time.sleep(0.5)


def order_body(n: int) -> dict:
    return {
        "channel": "web",
        "customer": {"external_id": f"CHAOS-BUYER-{n % 11}", "name": "买家"},
        "lines": [{"sku": "C", "name": "杯子", "quantity": 1, "unit_price": "20.00"}],
        "total": "20.00",
        "placed_at": "2026-01-02T10:00:00+08:00",
    }


def run(port, fixture, args, redis, processes, logs) -> dict:
    started = time.monotonic()
    load = Load(port, fixture, started, started + args.seconds)
    threads = [threading.Thread(target=load.storefront, args=(n,)) for n in range(args.storefronts)]
    threads += [threading.Thread(target=load.agent, args=(n,)) for n in range(args.agents)]
    threads += [threading.Thread(target=load.racer, args=(n,)) for n in range(args.racers)]
    threads += [threading.Thread(target=load.supervisor), threading.Thread(target=load.monitor)]
    for thread in threads:
        thread.start()
    timeline = {}

    def at(second: float) -> None:
        time.sleep(max(0.0, started + second - time.monotonic()))

    at(KILL_WORKER_AT)
    stop(processes["worker"], signal.SIGKILL)
    timeline["worker_killed"] = round(time.monotonic() - started, 1)
    at(WORKER_BACK_AT)
    with logs["worker"].open("ab") as out:
        out.write(b"\n--- restart ---\n")
    processes["worker"] = start_worker(logs["worker"])
    timeline["worker_back"] = round(time.monotonic() - started, 1)
    at(REDIS_DOWN_AT)
    redis.stop()
    down = time.monotonic()
    timeline["redis_stopped"] = round(down - started, 1)
    at(REDIS_BACK_AT)
    redis.start()
    back = time.monotonic()
    timeline["redis_back"] = round(back - started, 1)
    for thread in threads:
        thread.join(timeout=args.seconds + 120)
    load_seconds = time.monotonic() - started

    return settle_and_check(load, timeline, down, back + GRACE, load_seconds)


def settle_and_check(load: Load, timeline: dict, down: float, back: float, seconds: float):
    from django.db.models import Count, F, Q, Sum
    from django.utils import timezone

    from orders.models import Order
    from refunds.choices import RefundStatus
    from refunds.models import GatewayPayout, Refund, ReturnRequest
    from refunds.timers import refunds_requeue_stuck
    from tickets.models import Message, SlaEvent, Ticket

    results = load.tally.results

    # A request that was in flight at any moment of the window counts as inside it.
    def in_window(r) -> bool:
        return r.started <= back and r.started + r.seconds >= down

    inside = [r for r in results if in_window(r)]
    outside = [r for r in results if not in_window(r)]

    def settle(seconds: float) -> int:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not Refund.objects.filter(status=RefundStatus.PENDING).exists():
                break
            time.sleep(1)
        return Refund.objects.filter(status=RefundStatus.PENDING).count()

    pending_at_end = Refund.objects.filter(status=RefundStatus.PENDING).count()
    # The worker and the minute's stuck-payout sweep pay what they can in 90 s...
    pending_after_90s = settle(90)
    # ...but a payout cut short by the kill holds its five-minute lease (nobody may call the
    # gateway for it meanwhile), and one tried once waits ten minutes for the sweep. Wait for
    # the leases to run out (at most 330 s), then run the stuck-payout sweep as it will run
    # ten minutes on, and give the worker 60 s.
    leases = list(
        Refund.objects.filter(status=RefundStatus.PENDING, payout_lease_until__isnull=False)
    )
    last_lease = max((r.payout_lease_until for r in leases), default=None)
    waited = 0.0
    if last_lease is not None:
        waited = min(330.0, max(0.0, (last_lease - timezone.now()).total_seconds() + 2))
        time.sleep(waited)
    requeued = refunds_requeue_stuck(now=timezone.now() + timedelta(minutes=11))
    pending_after_all = settle(60)
    time.sleep(16)  # one more SLA sweep (every 15 s)

    exists = {
        "order": lambda m: Order.objects.filter(number=m).exists(),
        "ticket": lambda m: Ticket.objects.filter(subject=m).exists(),
        "message": lambda m: Message.objects.filter(body=m).exists(),
        "return": lambda m: ReturnRequest.objects.filter(description=m).exists(),
        "approval": lambda m: (
            ReturnRequest.objects.filter(public_id=m).exclude(status="requested").exists()
        ),
    }
    failed_writes = [
        (kind, marker, r) for kind, marker, r in load.writes if r.status is None or r.status >= 500
    ]
    hidden = [
        {"kind": kind, "status": r.status or r.error, "at_s": round(r.started - load.started, 1)}
        for kind, marker, r in failed_writes
        if exists[kind](marker)
    ]

    over_refunded = Order.objects.filter(refunded_amount__gt=F("paid_amount")).count()
    live = Sum("refunds__amount", filter=~Q(refunds__status=RefundStatus.FAILED))
    mismatched = sum(
        1
        for o in Order.objects.filter(refunds__isnull=False).annotate(live=live).distinct()
        if (o.live or Decimal("0")) != o.refunded_amount
    )
    payouts_per_key = GatewayPayout.objects.values("idempotency_key").annotate(n=Count("id"))
    refunds = list(Refund.objects.all())
    keys = {p["idempotency_key"]: p["n"] for p in payouts_per_key}
    succeeded = [r for r in refunds if r.status == RefundStatus.SUCCEEDED]
    duplicate_sla = (
        SlaEvent.objects.values("clock_id", "kind", "level").annotate(n=Count("id")).filter(n__gt=1)
    )
    sla_events = {
        row["kind"]: row["n"]
        for row in SlaEvent.objects.values("kind").annotate(n=Count("id")).order_by("kind")
    }

    invariants = {
        "orders_refunded_above_paid": over_refunded,
        "orders_refunded_not_equal_to_live_refunds": mismatched,
        "refund_keys_paid_more_than_once": sum(1 for n in keys.values() if n > 1),
        "payouts_without_a_refund": len(set(keys) - {r.idempotency_key for r in refunds}),
        "succeeded_refunds_without_exactly_one_payout": sum(
            1 for r in succeeded if keys.get(r.idempotency_key) != 1
        ),
        "refunds_still_pending_after_settling": pending_after_all,
        "sla_events_twice_for_a_clock_kind_level": duplicate_sla.count(),
        "5xx_outside_the_redis_window": sum(1 for r in outside if r.status and r.status >= 500),
        "failed_writes_hiding_a_committed_change": len(hidden),
    }
    health = load.health
    return {
        "load_seconds": round(seconds, 1),
        "timeline_s": timeline,
        "requests": load.tally.summary(),
        "outside_redis_window": load.tally.summary(outside),
        "inside_redis_window": load.tally.summary(inside),
        "by_endpoint": {
            label: load.tally.summary([r for r in results if r.label == label])
            for label in sorted({r.label for r in results})
        },
        "healthz": {
            "checks": len(health),
            "503_broker_fail": sum(1 for r, b in health if r.status == 503 and b == "fail"),
            "503_outside_the_redis_window": sum(
                1 for r, _ in health if r.status == 503 and not in_window(r)
            ),
            "200_inside_the_redis_window": sum(
                1 for r, _ in health if r.status == 200 and in_window(r)
            ),
            "no_answer": sum(1 for r, _ in health if r.status is None),
        },
        "failed_writes": len(failed_writes),
        "failed_writes_that_committed": hidden,
        "data": {
            "tickets": Ticket.objects.count(),
            "return_requests": ReturnRequest.objects.count(),
            "refunds": len(refunds),
            "refunds_succeeded": len(succeeded),
            "refunds_pending_when_the_load_stopped": pending_at_end,
            "refunds_pending_90s_later": pending_after_90s,
            "refunds_pending_with_a_lease_then": len(leases),
            "seconds_waited_for_their_leases": round(waited),
            "payouts_requeued_by_the_sweep_as_at_plus_11_min": requeued,
            "refunds_pending_after_that": pending_after_all,
            "gateway_payouts": sum(keys.values()),
            "sla_events": sla_events,
        },
        "invariants": invariants,
        "invariants_hold": not any(invariants.values()),
    }


if __name__ == "__main__":
    main()
