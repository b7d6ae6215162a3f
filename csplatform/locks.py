"""Row locks across the apps: the one order they are taken in, the advisory locks, and the
retry of a transaction that PostgreSQL still picked as a deadlock's victim.

Lock order
----------
An app locks only its own rows; another app's rows it asks that app to lock
(``orders.locks``, ``tickets.services``). A transaction that locks rows of several kinds
takes them in this order, top to bottom, and never goes back up (several rows of one kind:
ascending id). It is the order the services take them in today:

 1. the SLA configuration, an advisory lock (``tickets.sla.locks.sla_config_lock``): taken
    first, exclusively by every policy or calendar write (the API, the admin), shared by each
    batch of the SLA recompute (``tickets.sla.recompute``);
 2. an ``Idempotency-Key`` record (``csplatform.idempotency``): inserted before the work it
    guards, whose locks follow;
 3. customer (``orders.locks.customer_lock``: ``complaints.services`` counts a customer's
    complaints under it; privacy erasure locks it, then the customer's orders;
    ``order_upsert`` writes it before the order);
 4. order (``orders.services``; the apps above through ``orders.locks.order_lock``: the
    refunds services and timers);
 5. order exception (``orders.locks.order_exception_lock``: a ticket opened for it, then its
    ticket);
 6. return request (``refunds.services._lock_request``: its order, then the request);
 7. refund (``refund_retry``, ``refund_fail``, the payout's settlement: the order first when
    the reserved amount moves);
 8. complaint (``complaints.services``: the complaint, then its ticket);
 9. survey invitation, then the customer's survey cooldown (``surveys.sweeper``); a survey
    response before the follow-up ticket it opens (``surveys.services``);
10. ticket (``tickets.services._lock``; merge, recompute and deactivation lock several;
    other apps through its services, e.g. ``ticket_overdue_escalate``);
11. the ticket's SLA clocks (``tickets.sla.clocks.ticket_clocks_sync``; the SLA sweeper locks
    a clock together with its ticket);
12. agent profiles (``tickets.services.ticket_auto_assign``).

Leaves that are never held while a lock above is taken: notifications, the KPIs' refresh
states (the KPI refresh locks nothing but them), survey cooldowns.

Rules
-----
- Lock only the rows meant: a locking query that joins (``select_related``, a filter through
  a relation) says ``select_for_update(of=("self",))``. Without ``of`` PostgreSQL locks the
  joined rows too: the users behind agent profiles, the order behind an exception, rows that
  other transactions' foreign-key checks need.
- Lock a row to change it with ``no_key=True`` (``FOR NO KEY UPDATE``): writers of the row
  still queue, but the foreign-key checks of the rows other transactions insert under it (a
  ticket, a refund, a survey invitation of the order) do not wait for our commit, as they do
  behind ``FOR UPDATE``. ``FOR UPDATE`` is for deleting the row.
- Periodic scans lock the due rows they write with ``SKIP LOCKED`` and read the rest unlocked.
- A request or a task whose transaction still loses a deadlock runs it again
  (``retry_on_deadlock``): the client sees its answer, not a 500.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar, overload

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

logger = logging.getLogger(__name__)

# deadlock_detected, serialization_failure: PostgreSQL rolled the transaction back and says
# that running it again may succeed.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# Sleep before attempt n + 1: a random time up to RETRY_PAUSE * 2 ** (n - 1) seconds, so
# that the transactions that met in a deadlock do not meet again at once.
RETRY_PAUSE = 0.05

P = ParamSpec("P")
R = TypeVar("R")


def is_retryable(error: BaseException) -> bool:
    """Whether the database error is a deadlock or serialization failure (Django wraps the
    driver's error; the driver's is its ``__cause__``)."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE_SQLSTATES:  # psycopg 3
            return True
        if getattr(seen, "pgcode", None) in RETRYABLE_SQLSTATES:  # psycopg2
            return True
        seen = seen.__cause__
    return False


@overload
def retry_on_deadlock(
    func: Callable[P, R], *, attempts: int = ..., using: str = ...
) -> Callable[P, R]: ...


@overload
def retry_on_deadlock(
    func: None = None, *, attempts: int = ..., using: str = ...
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def retry_on_deadlock(
    func: Callable[P, R] | None = None, *, attempts: int = 3, using: str = DEFAULT_DB_ALIAS
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function again (at most ``attempts`` times in all, with a random
    pause between) when PostgreSQL aborts its transaction as a deadlock's victim or for a
    serialization failure.

    The function must be one whole transaction: ``@transaction.atomic`` itself (put this
    decorator above it), or its only writes one ``atomic`` block. Called inside a transaction
    (an outer ``atomic``, a keyed request's), it runs once: the outermost block retries, since
    a transaction cannot be resumed after PostgreSQL rolled it back. On other databases
    (SQLite serialises writers) it runs once.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            connection = connections[using]
            if connection.vendor != "postgresql" or connection.in_atomic_block:
                return function(*args, **kwargs)
            for attempt in range(1, attempts):
                try:
                    return function(*args, **kwargs)
                except OperationalError as error:
                    if not is_retryable(error):
                        raise
                    logger.warning(
                        "%s lost a deadlock (attempt %d of %d), running it again",
                        function.__qualname__,
                        attempt,
                        attempts,
                    )
                    time.sleep(random.uniform(0, RETRY_PAUSE * 2 ** (attempt - 1)))
            return function(*args, **kwargs)  # the last attempt: its error is the caller's

        return run

    return decorate(func) if func is not None else decorate


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL's advisory lock keys are bigint)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def advisory_xact_lock(name: str, *, shared: bool = False, using: str = DEFAULT_DB_ALIAS) -> None:
    """Take the transaction-level advisory lock ``name`` (released at commit or rollback):
    exclusive, or shared with the other shared holders. A no-op on other databases."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("A transaction-level advisory lock needs a transaction.")
    sql = (
        "SELECT pg_advisory_xact_lock_shared(%s)" if shared else "SELECT pg_advisory_xact_lock(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [advisory_key(name)])
