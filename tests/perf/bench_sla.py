"""Time the SLA sweeper and the business-hours calendar on a million demo tickets' clocks.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench_tickets \\
        .venv/bin/python tests/perf/bench_sla.py

The database is prepared as for ``bench_tickets.py`` (created and seeded with a million tickets
when missing, reused otherwise). Then:

- a sweep with nothing due: ``sla_sweep(now=...)`` with ``now`` just before the earliest due,
  warning, escalation and notification time (limit 50 ms);
- a sweep with 10,000 clocks due: the seeded desk runs only a few thousand clocks at a time, so
  the handling clocks of the 10,000 latest tickets are made due (and already warned); the sweep
  breaches them and notifies (limit 10 s); the e-mail task then sends the notifications, timed
  apart;
- the same two sweeps with every ticket's handling clock running, a million; there 10,000 fall
  due by choosing ``now`` (and the next hours' ones warn).

Sweeps that write run on a copy of the database (``<name>_sweep``, dropped at the end), batch
by batch committed as in production, the clocks put back before each run: in one rolled-back
transaction the index entries of rows updated earlier in it could not be skipped, and every
batch would read them again. The copy first gets the notification history the seeded SLA
events would have left (e-mailed and read), as a production table has. E-mails are built to
the bytes SMTP would send, and not sent.
- ``WorkCalendar.add`` on a business-hours calendar with holidays and make-up days (limit 50
  µs a call).
"""

from __future__ import annotations

import argparse
import random
import timeit
from datetime import UTC, date, datetime, timedelta

from bench_database import (
    copy_database,
    database_url,
    drop_database,
    prepare,
    report,
    setup_django,
    timed,
    using_database,
)

NOTHING_DUE_LIMIT = 0.050
DUE_LIMIT = 10.0
ADD_LIMIT = 50e-6
DUE_CLOCKS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each 10,000-clock sweep")
    parser.add_argument(
        "--seeded-only",
        action="store_true",
        help="skip the sweeps with every ticket's handling clock running (a minute to set up)",
    )
    args = parser.parse_args()

    _url, config = database_url()
    setup_django()
    prepare(config, config["NAME"], orders=args.orders, tickets=args.tickets)
    from tickets.models import SlaClock

    print(f"\n{SlaClock.objects.count():,} SLA clocks, {running():,} running")
    # The sweeps write (and commit batch by batch, as in production): on a copy, dropped after.
    copy = f"{config['NAME']}_sweep"
    copy_database(config, config["NAME"], copy)
    try:
        with using_database(copy):
            notification_history()
            ok = sweeps(args.repeat)
            if not args.seeded_only:
                ok &= sweeps_with_every_clock_running(args.repeat)
    finally:
        drop_database(config, copy)
    print("\nWorkCalendar.add")
    ok &= calendar_add()
    print("\nall within limits" if ok else "\nSOME FIGURES ARE OVER THEIR LIMITS")


def running() -> int:
    from tickets.models import SlaClock

    return SlaClock.objects.filter(status="active").count()


def earliest_work() -> datetime:
    """The first moment at which a sweep would find anything to do."""
    from django.db.models import Min

    from tickets.models import Notification, SlaClock

    moments = [
        SlaClock.objects.filter(status="active").aggregate(m=Min("due_at"))["m"],
        SlaClock.objects.filter(status="active", warned_at__isnull=True).aggregate(
            m=Min("warn_at")
        )["m"],
        SlaClock.objects.filter(
            status="breached", stopped_at__isnull=True, next_escalation_at__isnull=False
        ).aggregate(m=Min("next_escalation_at"))["m"],
        Notification.objects.filter(emailed_at__isnull=True).aggregate(m=Min("deliver_after"))["m"],
    ]
    return min(m for m in moments if m is not None)


def rolled_back(action):
    """Run ``action`` in a transaction that is rolled back; return what it returned."""
    from django.db import transaction

    with transaction.atomic():
        result = action()
        transaction.set_rollback(True)
    return result


def sweep_nothing_due(label: str) -> bool:
    from tickets.sla.sweeper import sla_sweep

    quiet = earliest_work() - timedelta(seconds=1)
    result = rolled_back(lambda: sla_sweep(now=quiet))
    if any(vars(result).values()):
        raise SystemExit(f"A sweep at {quiet} was meant to find nothing, yet did: {result}")
    samples = timed(lambda: rolled_back(lambda: sla_sweep(now=quiet)), repeat=50, warmup=3)
    return report(f"sweep, nothing due{label}", samples, limit=NOTHING_DUE_LIMIT)


def sweep_due(label: str, now: datetime, arrange, repeat: int) -> bool:
    """Time sweeps at ``now`` as they run in production, each batch committed; ``arrange``
    puts the clocks back (committed too) before every run. After each sweep, the e-mail
    task that runs beside it sends what the sweep notified, timed on its own."""
    import time

    from tickets.notifications import notifications_send_due
    from tickets.sla.sweeper import sla_sweep

    samples, mailing = [], []
    for _ in range(repeat):
        arrange()
        started = time.perf_counter()
        outcome = vars(sla_sweep(now=now))
        samples.append(time.perf_counter() - started)
        started = time.perf_counter()
        outcome["emailed"] = notifications_send_due(now=now)
        mailing.append(time.perf_counter() - started)
        print(
            f"    run {len(samples)}: sweep {samples[-1]:.2f} s, "
            f"e-mails {mailing[-1]:.2f} s, {outcome}"
        )
    ok = report(f"sweep, {DUE_CLOCKS:,} clocks due{label}", samples, limit=DUE_LIMIT, unit="s")
    report("  then the e-mail task, its notifications", mailing, limit=None, unit="s")
    return ok


def execute(sql: str, params=None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def notification_history() -> None:
    """The notifications the seeded SLA events made, e-mailed and read long ago.

    The seeder writes none; a table without history has statistics saying it is empty, and
    then the planner picks any plan for a burst of new rows, which no production table sees.
    """
    import time

    started = time.perf_counter()
    execute(
        """
        INSERT INTO tickets_notification (user_id, ticket_id, kind, text, created_at,
            deliver_after, read_at, emailed_at, sla_event_id)
        SELECT COALESCE(t.assignee_id, team.supervisor_id), t.id, 'sla_' || e.kind,
            t.number || ': ' || replace(c.metric, '_', ' ') || ' ' || e.kind, e.at, e.at,
            e.at + interval '1 hour', e.at, e.id
        FROM tickets_slaevent e
        JOIN tickets_slaclock c ON c.id = e.clock_id
        JOIN tickets_ticket t ON t.id = c.ticket_id
        LEFT JOIN tickets_team team ON team.id = t.team_id
        WHERE COALESCE(t.assignee_id, team.supervisor_id) IS NOT NULL
        """
    )
    execute("VACUUM ANALYZE tickets_notification")
    count = execute_scalar("SELECT count(*) FROM tickets_notification")
    print(f"notification history: {count:,} rows in {time.perf_counter() - started:.0f} s")


def execute_scalar(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def sweeps(repeat: int) -> bool:
    """The seeded clocks: nothing due; then the handling clocks of the 10,000 latest tickets
    made due (already warned, so the sweep breaches them, notifies and e-mails)."""
    from tickets.models import SlaClock

    ok = sweep_nothing_due("")
    quiet = earliest_work() - timedelta(seconds=1)
    targets = list(
        SlaClock.objects.filter(metric="handling")
        .order_by("-ticket_id")
        .values_list("id", flat=True)[:DUE_CLOCKS]
    )

    def arrange() -> None:
        # What earlier runs (or the seeded history) recorded for them goes; then due again.
        execute("DELETE FROM tickets_notification WHERE created_at = %s", [quiet])
        execute(
            "DELETE FROM tickets_notification WHERE sla_event_id IN "
            "(SELECT id FROM tickets_slaevent WHERE clock_id = ANY(%s))",
            [targets],
        )
        execute("DELETE FROM tickets_slaevent WHERE clock_id = ANY(%s)", [targets])
        execute(
            """
            UPDATE tickets_slaclock SET status = 'active', stopped_at = NULL, margin = NULL,
                running_since = started_at, paused_at = NULL, breached_at = NULL,
                escalation_level = 0, next_escalation_at = NULL,
                due_at = %(now)s - (id %% 3600) * interval '1 second',
                warn_at = %(now)s - (id %% 3600) * interval '1 second' - interval '5 hours',
                warned_at = %(now)s - (id %% 3600) * interval '1 second' - interval '5 hours'
            WHERE id = ANY(%(ids)s)
            """,
            {"now": quiet, "ids": targets},
        )

    return ok & sweep_due("", quiet, arrange, repeat)


def sweeps_with_every_clock_running(repeat: int) -> bool:
    """Both sweeps with one running handling clock per ticket, a million; 10,000 of them
    fall due by choosing ``now`` (and the next hours' ones warn)."""
    import time

    from tickets.models import SlaClock

    started = time.perf_counter()
    execute(
        "DELETE FROM tickets_notification n USING tickets_slaevent e, tickets_slaclock c "
        "WHERE n.sla_event_id = e.id AND e.clock_id = c.id AND c.metric = 'handling'"
    )
    execute("DELETE FROM tickets_notification WHERE emailed_at IS NULL")
    execute(
        "DELETE FROM tickets_slaevent e USING tickets_slaclock c "
        "WHERE e.clock_id = c.id AND c.metric = 'handling'"
    )
    # Due times spread over 30 days from six hours after the earliest one now.
    execute(
        """
        UPDATE tickets_slaclock SET status = 'active', stopped_at = NULL, margin = NULL,
            running_since = started_at, paused_at = NULL, warned_at = NULL,
            breached_at = NULL, escalation_level = 0, next_escalation_at = NULL,
            due_at = %(base)s + (id %% 43200) * interval '1 minute',
            warn_at = %(base)s + (id %% 43200) * interval '1 minute' - interval '288 minutes'
        WHERE metric = 'handling'
        """,
        {"base": earliest_work() + timedelta(hours=6)},
    )
    execute("VACUUM ANALYZE tickets_slaclock")
    print(
        f"\nwith every ticket's handling clock running ({running():,} running; set up in "
        f"{time.perf_counter() - started:.0f} s)"
    )
    ok = sweep_nothing_due(" (1M running)")
    due = (
        SlaClock.objects.filter(status="active", due_at__isnull=False)
        .order_by("due_at")
        .values_list("due_at", flat=True)[DUE_CLOCKS - 1]
    )

    def arrange() -> None:
        # Every clock the last run breached or warned, whatever its metric (the seeded
        # running clocks of other metrics fall due too), is put back as it was before.
        execute(
            """
            UPDATE tickets_slaclock SET status = 'active', breached_at = NULL,
                escalation_level = 0, next_escalation_at = NULL
            WHERE id IN (
                SELECT clock_id FROM tickets_slaevent WHERE at = %(now)s AND kind = 'breach'
            )
            """,
            {"now": due},
        )
        execute("UPDATE tickets_slaclock SET warned_at = NULL WHERE warned_at = %s", [due])
        execute("DELETE FROM tickets_notification WHERE created_at = %s", [due])
        execute("DELETE FROM tickets_slaevent WHERE at = %s", [due])

    return ok & sweep_due(" (1M running, chosen now)", due, arrange, repeat)


def calendar_add() -> bool:
    from tickets.sla.calendar import WorkCalendar

    hours = [["09:00", "12:00"], ["13:00", "18:00"]]
    calendar = WorkCalendar.from_spec(
        {
            "timezone": "Asia/Shanghai",
            "week": {
                **dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), hours),
                "sat": [["10:00", "16:00"]],
            },
            # The 2026 public holidays of the mainland (the weekday ones).
            "holidays": [
                date(2026, 1, 1).isoformat(),
                *(date(2026, 2, d).isoformat() for d in range(16, 21)),
                date(2026, 4, 6).isoformat(),
                *(date(2026, 5, d).isoformat() for d in range(1, 6)),
                date(2026, 6, 19).isoformat(),
                date(2026, 9, 25).isoformat(),
                *(date(2026, 10, d).isoformat() for d in range(1, 8)),
            ],
            # and its make-up working days (调休), with the Monday hours.
            "workdays": [
                *("2026-01-04", "2026-02-14", "2026-02-28"),
                *("2026-05-09", "2026-09-20", "2026-10-10"),
            ],
        }
    )
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases = [
        (
            start + timedelta(minutes=rng.randrange(365 * 24 * 60)),
            timedelta(minutes=rng.choice((15, 60, 8 * 60, 24 * 60, 48 * 60, 5 * 24 * 60))),
        )
        for _ in range(2_000)
    ]

    def run() -> None:
        for moment, duration in cases:
            calendar.add(moment, duration)

    per_call = [t / len(cases) for t in timeit.repeat(run, number=1, repeat=20)]
    return report(
        "add(start, 15 min … 5 days) on Mon–Sat hours, 2026 holidays and make-up days",
        per_call,
        limit=ADD_LIMIT,
        unit="µs",
        extra=f"  ({len(cases):,} calls a run)",
    )


if __name__ == "__main__":
    main()
