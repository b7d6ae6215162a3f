"""Time the KPI dashboard, the KPI API and the rollup refresh on a year of demo tickets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench_kpis \\
        .venv/bin/python tests/perf/bench_kpis.py

The database named in DATABASE_URL (its name must contain "bench") is created and seeded with
``seed_demo --orders 300000 --tickets 1000000`` (365 days) when missing; later runs reuse it.
The KPI facts and rollups are then rebuilt in full (the nightly job; its time is printed).

Timed, signed in as the demo ``supervisor`` (every team), each over ``--repeat`` runs with the
median and the 95th percentile against the limit:

* ``/kpis/`` for the last 90 days: unfiltered, one team, one channel + kind, one agent;
* ``GET /api/v1/kpis/summary/`` for the same slices and ``/api/v1/kpis/export/?table=agent``;
* the live monitor panel;
* the incremental refresh (``kpis_refresh``) after 1,000 new tickets (written through
  ``tickets.services.ticket_create`` with a public agent reply each, then deleted again),
  limit 2 s.

Nothing is asserted; compare figures measured in the same run.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

from bench_database import HOST, database_url, prepare, report, setup_django, timed, using_database

READ_LIMIT = 0.200
REFRESH_LIMIT = 2.0
NEW_TICKETS = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per request")
    parser.add_argument("--days", type=int, default=90, help="the dashboard's period")
    args = parser.parse_args()

    _url, config = database_url()
    setup_django()
    prepare(config, config["NAME"], orders=args.orders, tickets=args.tickets)
    with using_database(config["NAME"]):
        rebuild()
        all_ok = reads(args.repeat, args.days)
        print(f"\nIncremental refresh after {NEW_TICKETS} new tickets")
        all_ok &= refresh_after_new_tickets(max(3, args.repeat // 5))
    print("\nall within limits" if all_ok else "\nSOME FIGURES ARE OVER THEIR LIMITS")


def rebuild() -> None:
    from kpis.models import TicketDayRollup, TicketFact
    from kpis.rollups.refresh import kpis_rebuild, rollups_vacuum

    started = time.perf_counter()
    result = kpis_rebuild()
    took = time.perf_counter() - started
    started = time.perf_counter()
    rollups_vacuum()
    vacuumed = time.perf_counter() - started
    print(
        f"full rebuild (nightly): {result['tickets']} tickets, {result['days']} days in "
        f"{took:.1f} s; {TicketFact.objects.count()} facts, "
        f"{TicketDayRollup.objects.count()} rollup rows; then vacuumed in {vacuumed:.1f} s"
    )


def _client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    client.force_login(get_user_model().objects.get(username="supervisor"))
    return client


def _get(client, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.content[:300]!r}")


def _counting(queries: list[str]):
    def wrapper(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    return wrapper


def reads(repeat: int, days: int) -> bool:
    from django.db import connection
    from django.db.models import Sum

    from kpis.filters import today
    from kpis.models import TicketDayRollup

    end = today()
    start = end - timedelta(days=days - 1)
    period = f"from={start.isoformat()}&to={end.isoformat()}"
    busiest_team = (
        TicketDayRollup.objects.filter(day__gte=start, team_id__isnull=False)
        .values("team_id")
        .annotate(n=Sum("created"))
        .order_by("-n")
        .values_list("team_id", flat=True)
        .first()
    )
    agent = (
        TicketDayRollup.objects.filter(agent_id__isnull=False)
        .values_list("agent_id", flat=True)
        .first()
    )
    from django.contrib.auth import get_user_model

    agent_name = get_user_model().objects.get(pk=agent).get_username() if agent else ""
    slices = {
        "all": period,
        "team": f"{period}&team={busiest_team}",
        "chat+order_issue": f"{period}&channel=chat&kind=order_issue",
        "agent": f"{period}&agent={agent_name}",
    }
    client = _client()
    print(f"\nReads over {days} days ({start} – {end}), {repeat} runs each")
    ok = True
    paths = []
    for label, query in slices.items():
        paths.append((f"dashboard /kpis/ {label}", f"/kpis/?{query}"))
    for label, query in slices.items():
        paths.append((f"api summary {label}", f"/api/v1/kpis/summary/?{query}"))
    paths.append(("api export agent table", f"/api/v1/kpis/export/?table=agent&{period}"))
    paths.append(("live monitor panel", "/kpis/live/panel/"))
    for label, path in paths:
        queries: list[str] = []
        with connection.execute_wrapper(_counting(queries)):
            _get(client, path)
        samples = timed(lambda path=path: _get(client, path), repeat=repeat)
        ok &= report(label, samples, limit=READ_LIMIT, extra=f"  {len(queries)} queries")
    return ok


def refresh_after_new_tickets(repeat: int) -> bool:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from csplatform.actors import Actor
    from kpis.rollups.days import local_day
    from kpis.rollups.refresh import kpis_refresh
    from kpis.rollups.tickets import ticket_days_rollup
    from orders.models import Customer
    from tickets.models import Ticket
    from tickets.services import ticket_create, ticket_reply

    customers = list(Customer.objects.order_by("pk")[:200])
    agent = get_user_model().objects.get(username="agent")
    agent_teams = set(agent.teams.values_list("pk", flat=True))
    samples = []
    for run in range(repeat):
        kpis_refresh()  # start from a caught-up watermark
        now = timezone.now()
        created_ids = []
        for n in range(NEW_TICKETS):
            ticket = ticket_create(
                customer=customers[n % len(customers)],
                kind="inquiry",
                channel="web",
                subject=f"bench {run}-{n}",
                body="bench",
                actor=Actor.system("bench"),
                now=now,
            )
            if n % 2 == 0 and ticket.team_id in agent_teams:
                ticket_reply(ticket=ticket, user=agent, body="ok", now=now)
            created_ids.append(ticket.pk)
        started = time.perf_counter()
        result = kpis_refresh()
        samples.append(time.perf_counter() - started)
        print(
            f"    run {run + 1}: {samples[-1]:.2f} s, {result['tickets']} tickets, "
            f"{result['days']} days, {result['complaint_days']} days of complaints"
        )
        Ticket.objects.filter(pk__in=created_ids).delete()
        ticket_days_rollup({local_day(now)})  # deleted rows leave no trace for the watermark to see
    return report(
        f"kpis_refresh after {NEW_TICKETS} new tickets", samples, limit=REFRESH_LIMIT, unit="s"
    )


if __name__ == "__main__":
    main()
