"""What the webhook outbox costs an agent's reply, and how fast the worker delivers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench_webhooks \\
        .venv/bin/python tests/perf/bench_webhooks.py

The database named in DATABASE_URL (its name must contain "bench") is dropped,
created, migrated and seeded small (``seed_demo --orders 500 --tickets 300``) on every run,
and dropped at the end unless ``--keep``. Three measurements:

1. ``tickets.services.ticket_reply`` (a public reply by the demo ``agent``, commit included):
   with the messaging receiver disconnected (no outbox at all), with no webhook endpoint, and
   with an active endpoint of the ticket's storefront subscribed to
   ``ticket.message.created``; median, p95 and the queries of one reply (CaptureQueriesContext),
   and what the outbox adds to the reply without it (issue #18: < 5 ms p95, <= 1 query).
2. Delivery throughput: ``messaging.delivery.deliveries_send_due`` (what the Celery task runs),
   called in-process until nothing is due, for events already in the outbox, to a
   ``ThreadingHTTPServer`` on a free 127.0.0.1 port that answers 200 at once.
3. Commit-to-delivery delay: events committed at a steady rate (one transaction each) while a
   thread runs the delivery loop; the delay is from the commit to the receiver's arrival.

Celery's broker is ``memory://`` here (the after-commit wake-up is queued and never run: the
benchmark calls the delivery code itself); ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is on for the
loopback target. Only 127.0.0.1 is ever a target. Nothing is asserted; the last line is a JSON
summary.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench_database import (
    create_database,
    database_url,
    drop_database,
    percentile,
    prepare,
    report,
    setup_django,
)
from loopback import HOST, free_port

REPLY_ADDED_LIMIT = 0.005  # the target: < 5 ms p95 added to a reply
DELAY_LIMIT = 2.0  # p95 commit-to-delivery at a steady rate
ROUNDS = 6  # the reply variants take turns this many times


class Receiver:
    """A loopback webhook receiver: 200 at once, and the arrival time of each ``Webhook-Id``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.arrivals.setdefault(self.headers["Webhook-Id"], arrived)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=300, help="timed replies per variant")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--events", type=int, default=2000, help="events for the throughput run")
    parser.add_argument("--rate", type=float, default=100.0, help="events/s for the delay run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the delay run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    _url, config = database_url()
    if "bench" not in config["NAME"]:
        sys.exit(f"Refusing database {config['NAME']!r}: use a name containing 'bench'.")
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
    setup_django()
    from django.conf import settings

    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    started = time.monotonic()
    name = config["NAME"]
    drop_database(config, name)
    create_database(config, name)
    summary: dict = {"database": name}
    try:
        prepare(config, name, orders=500, tickets=300)
        with Receiver() as receiver:
            summary["reply"] = bench_reply(args.replies, args.warmup, receiver.url)
            summary["throughput"] = bench_throughput(args.events, receiver)
            summary["delay"] = bench_delay(args.rate, args.seconds, receiver)
    finally:
        if not args.keep:
            drop_database(config, name)
    summary["runtime_s"] = round(time.monotonic() - started, 1)
    print(f"\ntotal {summary['runtime_s']} s")
    print(json.dumps(summary))


def _ms(samples: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(samples) * 1e3, 2),
        "p95_ms": round(percentile(samples, 0.95) * 1e3, 2),
    }


def bench_reply(repeat: int, warmup: int, url: str) -> dict:
    """ticket_reply without the receiver, without an endpoint, with a subscribed endpoint."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.choices import WebhookEventType
    from messaging.models import OutboxEvent, WebhookEndpoint
    from messaging.receivers import outbox_on_ticket_event
    from messaging.services import webhook_endpoint_create
    from tickets.choices import TicketStatus
    from tickets.models import Ticket
    from tickets.services import ticket_reply
    from tickets.signals import ticket_event_recorded

    agent = get_user_model().objects.get(username="agent")
    # Tickets with an order (the payload names it), not closed; the agent replies in turn.
    tickets = list(
        Ticket.objects.exclude(status=TicketStatus.CLOSED)
        .filter(order__isnull=False, customer__storefront__isnull=False)
        .select_related("customer")
        .order_by("pk")[:50]
    )
    storefront = tickets[0].customer.storefront
    tickets = [t for t in tickets if t.customer.storefront_id == storefront.pk]
    WebhookEndpoint.objects.all().delete()
    print(
        f"\nReply ({repeat // ROUNDS * ROUNDS} timed public replies each, in {ROUNDS} rounds"
        f" taking turns, after {warmup}; {len(tickets)} tickets)"
    )
    position = 0

    def reply() -> None:
        nonlocal position
        ticket = tickets[position % len(tickets)]
        position += 1
        ticket_reply(ticket=ticket, user=agent, body="您好，已经为您查询，包裹明天送达。")

    endpoint, _secret = webhook_endpoint_create(
        storefront=storefront, url=url, events=[WebhookEventType.TICKET_MESSAGE_CREATED]
    )

    def variant(name: str) -> None:
        """bare: no receiver (as before the outbox); none: no active endpoint; hooked: one."""
        ticket_event_recorded.disconnect(dispatch_uid="messaging.outbox_on_ticket_event")
        if name != "bare":
            ticket_event_recorded.connect(
                outbox_on_ticket_event, dispatch_uid="messaging.outbox_on_ticket_event"
            )
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=name == "hooked")

    def queries(name: str) -> tuple[float, str, list[str]]:
        """One reply to each ticket in turn, from the first, so that every variant counts the
        same replies (a reply's SLA work depends on its ticket's state)."""
        nonlocal position
        variant(name)
        position = 0
        per_reply, sqls = [], []
        for _ in tickets:
            with CaptureQueriesContext(connection) as captured:
                reply()
            per_reply.append(len(captured.captured_queries))
            sqls += [q["sql"] for q in captured.captured_queries]
        return len(sqls) / len(per_reply), f"{min(per_reply)}-{max(per_reply)}", sqls

    # The variants take turns, in rounds, so that a slow moment of the machine falls on all.
    names = ("bare", "none", "hooked")
    samples: dict[str, list[float]] = {name: [] for name in names}
    events_before = OutboxEvent.objects.count()
    for name in names:
        variant(name)
        for _ in range(warmup):
            reply()
    for _round in range(ROUNDS):
        for name in names:
            variant(name)
            for _ in range(repeat // ROUNDS):
                began = time.perf_counter()
                reply()
                samples[name].append(time.perf_counter() - began)
    written = OutboxEvent.objects.count() - events_before
    counted = {name: queries(name) for name in names}
    variant("none")  # the receiver connected again
    labels = {
        "bare": "reply, messaging receiver disconnected",
        "none": "reply, no webhook endpoint",
        "hooked": "reply, endpoint subscribed",
    }
    for name in names:
        count, spread, _sqls = counted[name]
        report(
            labels[name],
            samples[name],
            limit=None,
            extra=f"  {count:.2f} queries a reply ({spread})",
        )
    bare, none, hooked = (samples[name] for name in names)
    (bare_n, _, bare_sql), (none_n, _, none_sql), (hooked_n, _, hooked_sql) = (
        counted[name] for name in names
    )
    written = OutboxEvent.objects.count() - events_before
    added_p50 = statistics.median(hooked) - statistics.median(bare)
    added_p95 = percentile(hooked, 0.95) - percentile(bare, 0.95)
    none_p95 = percentile(none, 0.95) - percentile(bare, 0.95)
    verdict = "ok" if added_p95 < REPLY_ADDED_LIMIT and hooked_n - bare_n <= 1 else "OVER TARGET"
    print(
        f"  added by the outbox with the endpoint: median {added_p50 * 1e3:+.2f} ms,"
        f" p95 {added_p95 * 1e3:+.2f} ms, {hooked_n - bare_n:+.2f} queries; without one:"
        f" p95 {none_p95 * 1e3:+.2f} ms, {none_n - bare_n:+.2f} queries"
        f" (target < 5 ms p95, <= 1 query: {verdict}); {written} outbox events written"
    )
    print("  queries with the endpoint that the receiver-less reply does not make:")
    for line in _extra(hooked_sql, bare_sql, len(tickets)):
        print(f"    {line}")
    print("  queries without an endpoint that the receiver-less reply does not make:")
    for line in _extra(none_sql, bare_sql, len(tickets)):
        print(f"    {line}")
    WebhookEndpoint.objects.all().delete()  # its pending deliveries go with it
    return {
        "replies_each": len(hooked),
        "receiver_disconnected": {**_ms(bare), "queries": round(bare_n, 2)},
        "no_endpoint": {**_ms(none), "queries": round(none_n, 2)},
        "endpoint_subscribed": {**_ms(hooked), "queries": round(hooked_n, 2)},
        "added_p50_ms": round(added_p50 * 1e3, 2),
        "added_p95_ms": round(added_p95 * 1e3, 2),
        "added_queries": round(hooked_n - bare_n, 2),
        "no_endpoint_added_p95_ms": round(none_p95 * 1e3, 2),
        "no_endpoint_added_queries": round(none_n - bare_n, 2),
    }


def _shape(sql: str) -> str:
    """A statement's kind and first table: ``SELECT orders_order``."""
    found = re.match(
        r'\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|SAVEPOINT|RELEASE)\W.*?"(\w+)"', sql
    )
    return f"{found[1]} {found[2]}" if found else sql.split()[0]


def _extra(more: list[str], fewer: list[str], replies: int) -> list[str]:
    """The kinds of statement ``more`` has more of than ``fewer``, per reply."""
    more_count, fewer_count = Counter(map(_shape, more)), Counter(map(_shape, fewer))
    return [
        f"{(n - fewer_count[shape]) / replies:+.2f}  {shape}"
        for shape, n in sorted(more_count.items())
        if n != fewer_count[shape]
    ]


def _endpoint(url: str):
    from csplatform.models import Storefront
    from messaging.choices import WebhookEventType
    from messaging.models import WebhookEndpoint
    from messaging.services import webhook_endpoint_create

    WebhookEndpoint.objects.all().delete()
    endpoint, _secret = webhook_endpoint_create(
        storefront=Storefront.default(), url=url, events=list(WebhookEventType.values)
    )
    return endpoint


def _record(endpoint, number: int) -> str:
    """One ticket.message.created event of one of 200 tickets, in its own transaction."""
    from django.db import transaction
    from django.utils import timezone

    from messaging.services import outbox_event_record

    ticket = number % 200
    data = {
        "ticket": {"number": f"T-BENCH-{ticket:04d}", "status": "open", "order_number": None},
        "message": {"author": "agent", "body": "您好，包裹明天送达。", "channel": "app"},
    }
    with transaction.atomic():
        event = outbox_event_record(
            type="ticket.message.created",
            data=data,
            now=timezone.now(),
            ordering_key=f"ticket:bench-{ticket}",
            storefront_id=endpoint.storefront_id,
        )
    return str(event.id)


def _drain() -> int:
    from messaging.delivery import deliveries_send_due

    sent = 0
    while True:
        attempted = deliveries_send_due()  # as the Celery task calls it
        sent += attempted
        if not attempted:
            return sent


def bench_throughput(count: int, receiver: Receiver) -> dict:
    from messaging.choices import DeliveryStatus
    from messaging.models import WebhookDelivery

    endpoint = _endpoint(receiver.url)
    began = time.perf_counter()
    ids = [_record(endpoint, n) for n in range(count)]
    written = time.perf_counter() - began
    began = time.perf_counter()
    attempted = _drain()
    took = time.perf_counter() - began
    delivered = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.DELIVERED
    ).count()
    arrived = sum(1 for i in ids if i in receiver.arrivals)
    rate = delivered / took
    print(
        f"\nDelivery throughput ({count} events of 200 tickets, one endpoint, batches of 20)\n"
        f"  written in {written:.2f} s ({count / written:.0f} events/s, one transaction each)\n"
        f"  delivered {delivered} ({attempted} attempts, {arrived} arrived) in {took:.2f} s:"
        f" {rate:.0f} events/s, {took / max(delivered, 1) * 1e3:.2f} ms an event"
    )
    return {
        "events": count,
        "attempts": attempted,
        "delivered": delivered,
        "arrived": arrived,
        "seconds": round(took, 2),
        "events_per_s": round(rate, 1),
        "write_events_per_s": round(count / written, 1),
    }


def bench_delay(rate: float, seconds: float, receiver: Receiver) -> dict:
    from django.db import connection

    from messaging.choices import DeliveryStatus
    from messaging.models import WebhookDelivery

    endpoint = _endpoint(receiver.url)
    committed: dict[str, float] = {}
    stop = threading.Event()
    idle_sleep = 0.02

    def worker() -> None:
        from messaging.delivery import deliveries_send_due

        try:
            while not stop.is_set():
                if not deliveries_send_due():
                    time.sleep(idle_sleep)
            _drain()
        finally:
            connection.close()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    total = int(rate * seconds)
    began = time.monotonic()
    late = 0
    for n in range(total):
        due = began + n / rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.1:
            late += 1
        event_id = _record(endpoint, n)
        committed[event_id] = time.monotonic()
    produced = time.monotonic() - began
    stop.set()
    thread.join(timeout=60)
    delays = [receiver.arrivals[i] - t for i, t in committed.items() if i in receiver.arrivals]
    delivered = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=DeliveryStatus.DELIVERED
    ).count()
    print(
        f"\nCommit to delivery ({total} events at {rate:g}/s for {seconds:g} s, written in"
        f" {produced:.1f} s, {late} more than 100 ms late; a thread loops on deliveries_send_due,"
        f" sleeping {idle_sleep * 1e3:g} ms when nothing is due)"
    )
    if delays:
        report(
            "commit -> arrival at the receiver",
            delays,
            limit=DELAY_LIMIT,
            extra=f"  max {max(delays) * 1e3:.0f} ms; {len(delays)} arrived, {delivered} delivered",
        )
    return {
        "events": total,
        "rate_per_s": rate,
        "seconds": seconds,
        "produced_in_s": round(produced, 1),
        "arrived": len(delays),
        "delivered": delivered,
        **(_ms(delays) if delays else {}),
        "max_ms": round(max(delays) * 1e3, 1) if delays else None,
    }


if __name__ == "__main__":
    main()
