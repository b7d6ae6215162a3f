"""`make run` under bursts of concurrent clients on 127.0.0.1: nothing dropped, no 5xx, and
the PostgreSQL connections it holds stay bounded (issue #16, item 7).

Starts `make run` on a free port (SQLite in var/ without DATABASE_URL, that PostgreSQL
database with it), creates a storefront key, then fires ``--bursts`` bursts of ``--clients``
clients at once, each sending ``--requests`` requests one after the other on new connections:
the health check, the sign-in page, an order read through the API and a new ticket through
the API (a write). Then one burst of ``--connects`` clients opening their connections at the
same moment (the listen queue). ``--server runserver`` measures the old web server
(`manage.py runserver`, after the same migrate and seed) the same way, for comparison.

    .venv/bin/python tests/perf/load_make_run.py        # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cs_load \
        .venv/bin/python tests/perf/load_make_run.py

Bounded: a few hundred requests, stops by itself, prints a JSON summary last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.perf.loopback import (
    PYTHON,
    ConnectionWatch,
    Tally,
    free_port,
    manage,
    request,
    start,
    stop,
    wait_for,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["make-run", "runserver"], default="make-run")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--requests", type=int, default=4, help="per client and burst")
    parser.add_argument("--connects", type=int, default=150)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    postgres = database_url.startswith(("postgres://", "postgresql://"))
    env = {"DJANGO_SETTINGS_MODULE": "csplatform.settings.base"}
    os.environ.pop("REDIS_URL", None)  # the embedded broker, as the README's command
    port = free_port()
    log = Path(tempfile.mkstemp(prefix=f"load-{args.server}-", suffix=".log")[1])

    if args.server == "make-run":
        server = start(["make", "run", f"PORT={port}"], log, env)
    else:
        manage("migrate", "--noinput", env=env)
        manage("seed_demo", "--orders", "500", "--tickets", "300", env=env)
        server = start([PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], log)
    try:
        up_after = wait_for(port, "/login/", server, 300, log)
        key = (
            manage(
                "create_api_key", f"load-{int(time.time())}", "--scopes", "orders,tickets", env=env
            )
            .strip()
            .splitlines()[-1]
        )
        watch = ConnectionWatch(database_url) if postgres else None
        if watch:
            watch.__enter__()
            time.sleep(1)
            idle_before = watch.now()
        report = run_load(port, key, args, watch)
        if watch:
            time.sleep(3)
            report["db_connections"] = {
                "before": idle_before,
                "peak": watch.peak(),
                "held_3s_after": watch.now(),
                "server_max": server_max_connections(watch),
            }
            watch.__exit__()
    finally:
        stop(server, signal.SIGINT)
    text = log.read_text(errors="replace")
    report |= {
        "server": args.server,
        "database": "postgresql" if postgres else "sqlite",
        "up_after_s": round(up_after, 1),
        "too_many_clients_in_log": len(re.findall(r"too many clients", text)),
        "database_is_locked_in_log": len(re.findall(r"database is locked", text)),
        "log": str(log),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


def run_load(port: int, key: str, args, watch) -> dict:
    headers = {"Authorization": f"Api-Key {key}"}
    tally = Tally()
    bursts = []
    for burst in range(args.bursts):
        start_line = threading.Barrier(args.clients)
        begun = len(tally.results)

        def client(n: int, burst: int = burst, start_line=start_line) -> None:
            start_line.wait()
            for i in range(args.requests):
                kind = (n + i) % 4
                if kind == 0:
                    tally.add(request(port, "GET", "/healthz/", label="healthz"))
                elif kind == 1:
                    tally.add(request(port, "GET", "/login/", label="login"))
                elif kind == 2:
                    tally.add(
                        request(
                            port,
                            "GET",
                            "/api/v1/orders/SO-1000001/",
                            label="order",
                            headers=headers,
                        )
                    )
                else:
                    tally.add(
                        request(
                            port,
                            "POST",
                            "/api/v1/tickets/",
                            label="ticket",
                            headers=headers,
                            body={
                                "customer": {"external_id": f"LOAD-{n % 10}", "name": "压测"},
                                "kind": "inquiry",
                                "channel": "web",
                                "subject": f"load {burst}-{n}-{i}",
                                "body": "还没发货？",
                            },
                        )
                    )

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        began = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        entry = {"seconds": round(time.monotonic() - began, 1)}
        entry |= tally.summary(tally.results[begun:])
        if watch:
            time.sleep(2)
            entry["db_connections_peak"] = watch.peak(since=began)
            entry["db_connections_2s_after"] = watch.now()
        bursts.append(entry)

    # The listen queue: every client connects at the same moment.
    start_line = threading.Barrier(args.connects)
    connects = Tally()

    def connect() -> None:
        start_line.wait()
        connects.add(request(port, "GET", "/login/", label="connect"))

    threads = [threading.Thread(target=connect) for _ in range(args.connects)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return {
        "bursts": bursts,
        "all_bursts": tally.summary(),
        "simultaneous_connects": connects.summary(),
    }


def server_max_connections(watch: ConnectionWatch) -> int:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **watch.server) as conn:
        return int(conn.execute("SHOW max_connections").fetchone()[0])


if __name__ == "__main__":
    main()
