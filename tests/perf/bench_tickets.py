"""Time the agent desk's queue and the tickets API on a million demo tickets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench_tickets \\
        .venv/bin/python tests/perf/bench_tickets.py

The database named in DATABASE_URL (its name must contain "bench") is created and seeded with
``seed_demo --orders 300000 --tickets 1000000`` when missing; later runs reuse it and only add
what is missing. A small database next to it (same name + "_small", 300 tickets) is prepared the
same way, afresh on every run: every request is run once on each to show that its number of
queries does not grow with the data.

Requests go through Django's test client, signed in as the demo ``agent`` (two teams) and the
demo ``supervisor`` (every team): the desk queue page (/desk/) in four views, and
``GET /api/v1/tickets/`` with a few filter combinations; then ``POST /api/v1/tickets/`` with a
storefront key (the tickets it opens are deleted afterwards). Each line gives the median and
95th percentile over the repeated runs, against the limits: 150 ms for reads, 50 ms for the
POST. Nothing is asserted; compare figures measured in the same run.
"""

from __future__ import annotations

import argparse
import json

from bench_database import (
    HOST,
    database_url,
    drop_database,
    prepare,
    report,
    setup_django,
    timed,
    using_database,
)

READ_LIMIT = 0.150
CREATE_LIMIT = 0.050
DESK_VIEWS = ("team", "mine", "unassigned", "breaching_soon")
API_QUERIES = (
    "",
    "?view=team",
    "?view=mine",
    "?view=unassigned&ordering=-created_at",
    "?view=breaching_soon",
    "?status=new&status=open&priority=high&priority=urgent",
    "?kind=return_refund&channel=chat&ordering=-created_at",
    "?sla=breached",
    "?tag=退款",
    "?q={number}",
    "?q={phone}",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per request")
    args = parser.parse_args()

    _url, config = database_url()
    big, small = config["NAME"], f"{config['NAME']}_small"
    setup_django()
    # Seeded afresh each run (seconds), so that its queue views hold tickets as of now: an
    # empty page skips the tag query, which would look like a count that depends on data.
    drop_database(config, small)
    prepare(config, small, orders=500, tickets=300)
    prepare(config, big, orders=args.orders, tickets=args.tickets)

    with using_database(small):
        small_counts = {
            label: (count, rows) for label, _path, count, rows in requests_and_queries()
        }
    with using_database(big):
        describe()
        print(f"\nReads ({args.repeat} runs each; queries: this database / the small one)")
        all_ok = True
        for label, path, count, rows in requests_and_queries():
            client = CLIENTS[label.split()[0]]
            samples = timed(lambda client=client, path=path: get(client, path), repeat=args.repeat)
            small_count, small_rows = small_counts[label]
            if count == small_count:
                same = ""
            elif not rows or not small_rows:
                same = "  (an empty page: no tag query)"
            else:
                same = "  QUERY COUNT DIFFERS"
            queries = f"  {count:>2} / {small_count:>2} queries{same}"
            all_ok &= report(label, samples, limit=READ_LIMIT, extra=queries)
        print("\nWrites")
        all_ok &= bench_create(args.repeat)
    print("\nall within limits" if all_ok else "\nSOME FIGURES ARE OVER THEIR LIMITS")


CLIENTS: dict = {}


def clients() -> dict:
    """A signed-in test client per demo login, fresh for the current database."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model().objects.filter(username__in=("agent", "supervisor"))
    result = {}
    for user in users:
        client = Client(HTTP_HOST=HOST)
        client.force_login(user)
        result[user.username] = client
    return result


def get(client, path: str) -> int:
    """GET the page; how many tickets it lists."""
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.content[:300]!r}")
    if path.startswith("/api/"):
        return len(response.json()["results"])
    return response.content.count(b"data-number=")


def requests_and_queries():
    """(label, path, queries of one request, tickets listed) for every read, on the current
    database."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import Ticket

    CLIENTS.clear()
    CLIENTS.update(clients())
    # A ticket both demo logins see, so that the searches find something for both.
    sample = (
        Ticket.objects.filter(team__members__username="agent")
        .select_related("customer")
        .order_by("-pk")
        .first()
    )
    fill = {"number": sample.number, "phone": sample.customer.phone}
    for username in ("agent", "supervisor"):
        client = CLIENTS[username]
        paths = [(f"{username} desk /desk/?view={v}", f"/desk/?view={v}") for v in DESK_VIEWS]
        paths += [
            (f"{username} api /api/v1/tickets/{q}", f"/api/v1/tickets/{q}") for q in API_QUERIES
        ]
        for label, path in paths:
            path = path.format(**fill)
            get(client, path)  # warm: sessions, caches
            with CaptureQueriesContext(connection) as queries:
                rows = get(client, path)
            yield label, path, len(queries.captured_queries), rows


def describe() -> None:
    from tickets.choices import OPEN_STATUSES
    from tickets.models import SlaClock, Ticket

    total = Ticket.objects.count()
    backlog = Ticket.objects.filter(status__in=OPEN_STATUSES).count()
    running = SlaClock.objects.filter(status="active").count()
    print(f"\n{total:,} tickets, {backlog:,} open, {running:,} running SLA clocks")


def bench_create(repeat: int) -> bool:
    """POST /api/v1/tickets/ with a storefront key, about a seeded customer's order."""
    from django.test import Client

    from csplatform.models import Storefront
    from csplatform.services import storefront_key_create
    from orders.models import Order
    from tickets.models import Ticket

    api_key, key = storefront_key_create(
        name="storefront (benchmark)", storefront=Storefront.default(), scopes=["tickets"]
    )
    client = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Api-Key {key}")
    orders = list(Order.objects.select_related("customer").order_by("-placed_at")[:100])
    opened: list[str] = []
    position = 0

    def create() -> None:
        nonlocal position
        order = orders[position % len(orders)]
        position += 1
        customer = order.customer
        payload = {
            "customer": {"external_id": customer.external_id, "name": customer.name},
            "order_number": order.number,
            "kind": "order_issue",
            "channel": "app",
            "subject": "物流一直没有更新",
            "body": f"订单{order.number}的物流三天没有更新了，麻烦帮我查一下。",
        }
        response = client.post(
            "/api/v1/tickets/", json.dumps(payload), content_type="application/json"
        )
        if response.status_code != 201:
            raise SystemExit(f"POST: {response.status_code} {response.content[:300]!r}")
        opened.append(response.json()["number"])

    try:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        create()
        with CaptureQueriesContext(connection) as queries:
            create()
        extra = f"  {len(queries.captured_queries)} queries"  # now: later requests reset the log
        samples = timed(create, repeat=repeat)
        return report("storefront POST /api/v1/tickets/", samples, limit=CREATE_LIMIT, extra=extra)
    finally:
        Ticket.objects.filter(number__in=opened).delete()
        api_key.delete()


if __name__ == "__main__":
    main()
