"""Races on PostgreSQL: real threads, each with its own database connection, released at once.

SQLite serialises writers, so the tests that use this are marked ``postgres``.
"""

from __future__ import annotations

import threading

from django.db import connection


def run_at_once(count: int, work) -> list:
    """Run ``work(i)`` for ``i`` in ``range(count)`` in as many threads, released together;
    their results, in order. Fails if a thread raised or hung. Each thread closes its own
    database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    return results
