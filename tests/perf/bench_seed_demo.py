"""Time ``seed_demo`` on PostgreSQL from an empty database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_bench_seed \\
        .venv/bin/python tests/perf/bench_seed_demo.py --orders 100000

The database named in DATABASE_URL is dropped and created again, so that every run starts from
the same empty, migrated state; to protect real data the script refuses names without "bench".
It then times the seeding, prints the rows per table, and times a second run, which must create
nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def recreate_database(url: str) -> None:
    import environ
    import psycopg
    from psycopg import sql

    config = environ.Env.db_url_config(url)
    name = config["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to drop database {name!r}: use a name containing 'bench'.")
    server = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument(
        "--tickets", type=int, default=0, help="demo tickets too (default none: orders only)"
    )
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database, e.g. .../cs_bench_seed.")
    recreate_database(url)

    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "csplatform.settings.base"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from orders.models import (
        Customer,
        Order,
        OrderEvent,
        OrderException,
        OrderLine,
        Payment,
        Shipment,
        ShipmentEvent,
    )

    call_command("migrate", verbosity=0)

    def seed() -> tuple[float, str]:
        out = io.StringIO()
        started = time.perf_counter()
        call_command(
            "seed_demo", orders=args.orders, tickets=args.tickets, seed=args.seed, stdout=out
        )
        return time.perf_counter() - started, out.getvalue()

    first, output = seed()
    # One line per app's seeder (orders, tickets, refunds, complaints, surveys), then "Done".
    print("\n".join(line for line in output.splitlines() if ": created " in line))
    print(
        f"seed_demo --orders {args.orders:,} --tickets {args.tickets:,}: {first:.1f} s, "
        f"{args.orders / first:,.0f} orders/s"
    )
    total = 0
    for model in (
        Customer,
        Order,
        OrderLine,
        Payment,
        Shipment,
        ShipmentEvent,
        OrderEvent,
        OrderException,
    ):
        count = model.objects.count()
        total += count
        print(f"  {model._meta.db_table:<24} {count:>10,}")
    print(f"  {'all rows':<24} {total:>10,}  ({total / first:,.0f} rows/s)")

    again, output = seed()
    print(f"second run (creates nothing): {again:.1f} s — {output.splitlines()[0]}")
    connection.close()


if __name__ == "__main__":
    main()
