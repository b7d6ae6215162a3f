"""The seeded PostgreSQL databases the ticket and SLA benchmarks run on, and their timings.

A benchmark names its database in DATABASE_URL (the name must contain "bench"). The database
is created when missing, migrated, and brought to the asked size with ``seed_demo``, which
only adds what is missing: the first run seeds (a million tickets take minutes), later runs
reuse the data. Django is set up here, once, with DEBUG off, the host the test client uses
allowed, and e-mails built but not sent.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "bench.localhost"


def database_url() -> tuple[str, dict]:
    """DATABASE_URL and its parts; exits unless it names a PostgreSQL "bench" database."""
    import environ

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. .../cs_bench_tickets.")
    config = environ.Env.db_url_config(url)
    if "bench" not in config["NAME"]:
        sys.exit(f"Refusing to seed database {config['NAME']!r}: use a name containing 'bench'.")
    return url, config


def create_database(config: dict, name: str) -> bool:
    """Create the database unless it exists; True when it was created."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(dbname="postgres", autocommit=True, **_server(config)) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def _server(config: dict) -> dict:
    return {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }


def copy_database(config: dict, source: str, target: str) -> None:
    """A fresh copy of ``source`` (nobody may be connected to it meanwhile)."""
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    started = time.perf_counter()
    with psycopg.connect(dbname="postgres", autocommit=True, **_server(config)) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(target)))
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(target), sql.Identifier(source)
            )
        )
    print(f"copied {source} to {target} in {time.perf_counter() - started:.0f} s")


def drop_database(config: dict, name: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with psycopg.connect(dbname="postgres", autocommit=True, **_server(config)) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def _message_building_backend():
    from django.core.mail.backends.base import BaseEmailBackend

    class MessageBuildingBackend(BaseEmailBackend):
        """Builds every e-mail to the bytes SMTP would send, and sends none: the benchmarks
        count the work of making e-mails, not a mail server's (nor the test backend's
        copying of each message into an outbox)."""

        def send_messages(self, email_messages) -> int:
            for message in email_messages:
                message.message().as_bytes()
            return len(email_messages)

    return MessageBuildingBackend


def __getattr__(name: str):
    # Defined lazily: the class needs Django's settings, which setup_django() loads.
    if name == "MessageBuildingBackend":
        return _message_building_backend()
    raise AttributeError(name)


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.base")
    os.environ["DEBUG"] = "false"  # no query log, production-like request handling
    os.environ["ALLOWED_HOSTS"] = HOST
    os.environ["EMAIL_BACKEND"] = "bench_database.MessageBuildingBackend"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def using_database(name: str) -> Iterator[None]:
    """Point the default connection at another database of the same server for a while."""
    from django.db import connection

    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


def prepare(config: dict, name: str, *, orders: int, tickets: int) -> None:
    """Create, migrate and seed the database ``name`` up to the given size; say what it took."""
    from django.core.management import call_command

    created = create_database(config, name)
    with using_database(name):
        call_command("migrate", verbosity=0)
        out = io.StringIO()
        started = time.perf_counter()
        call_command("seed_demo", orders=orders, tickets=tickets, stdout=out)
        took = time.perf_counter() - started
    lines = [line for line in out.getvalue().splitlines() if ": created" in line]
    state = "created and seeded" if created else "seeded (existing rows reused)"
    print(f"database {name}: {state} in {took:.1f} s")
    for line in lines:
        print(f"  {line}")


def percentile(samples: list[float], share: float) -> float:
    """The value below which ``share`` of the samples fall (linear interpolation)."""
    ordered = sorted(samples)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def timed(action, *, repeat: int, warmup: int = 2) -> list[float]:
    """Seconds each of ``repeat`` calls took, after ``warmup`` calls that are not counted."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def report(
    label: str, samples: list[float], *, limit: float | None, unit: str = "ms", extra=""
) -> bool:
    """One line: median and p95 against the limit (in seconds, ``None`` for a figure without
    one); True when p95 is within it."""
    scale = {"ms": 1e3, "s": 1.0, "µs": 1e6}[unit]
    median, p95 = statistics.median(samples), percentile(samples, 0.95)
    within = limit is None or p95 < limit
    verdict = (
        "no limit"
        if limit is None
        else f"limit {limit * scale:g} {unit}: " + ("ok" if within else "TOO SLOW")
    )
    print(
        f"  {label:<58} median {median * scale:8.2f} {unit}  p95 {p95 * scale:8.2f} {unit}"
        f"  ({verdict}){extra}"
    )
    return within
