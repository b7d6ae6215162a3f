"""Celery tasks queued after a commit, guarded against a broker that cannot be reached.

A change that has committed is done: the answer to its request must say so, and every other
piece of work queued after the same commit must still be queued. So a failed publish is
logged (the task's name and the error, never its arguments, which may name a customer's
files) and dropped. The work is not lost: a task queued with ``enqueue`` has a periodic sweep
that finds what it should have done and queues it again (stuck payouts, order exceptions
without a ticket, undelivered survey invitations, missed complaint escalations); one that no
sweep comes back for is queued with ``enqueue_or_run`` and run in place when the broker
refuses it. The README's *Resilience* section lists them.

A task is named or given: code that its own tasks module imports (a service the task runs)
queues the task by its registered name, ``"refunds.tasks.refund_payout_task"``, so that the
service does not import the tasks that import it.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, ParamSpec

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from .celery import app

logger = logging.getLogger(__name__)

# What a publish raises when the broker is down or unreachable: kombu wraps connection
# errors in OperationalError; a Redis that answers with an error, or a broker folder that
# cannot be written, raises the others.
BROKER_ERRORS = (OperationalError, RedisError, OSError)

P = ParamSpec("P")


def task_named(name: str) -> Task[..., Any]:
    """The task registered under ``name`` (its module's path, a dot, its function's name).
    A worker registers every app's tasks when it starts; another process registers a module's
    tasks when it first imports it, so the module the name gives is imported when needed."""
    if name not in app.tasks:
        importlib.import_module(name.rpartition(".")[0])
    return app.tasks[name]


def _task(task: Task[P, Any] | str) -> Task[..., Any]:
    return task_named(task) if isinstance(task, str) else task


def enqueue(task: Task[P, Any] | str, *args: P.args, **kwargs: P.kwargs) -> bool:
    """Queue ``task`` now; ``False`` (and a warning) when the broker refused it. For code that
    already runs after a commit: the receivers of the signals sent on commit."""
    queued = _task(task)
    try:
        queued.delay(*args, **kwargs)
    except BROKER_ERRORS as error:
        logger.warning(
            "Could not queue %s (%s: %s); its periodic sweep will pick the work up.",
            queued.name,
            type(error).__name__,
            error,
        )
        return False
    return True


def enqueue_or_run(task: Task[P, Any] | str, *args: P.args, **kwargs: P.kwargs) -> bool:
    """Like ``enqueue``; when the broker refuses the task, run it here and now instead, for
    work no sweep would come back for (short, idempotent tasks only). A failure of that run is
    logged, not raised: what committed before it stays committed."""
    queued = _task(task)
    if enqueue(queued, *args, **kwargs):
        return True
    result = queued.apply(args, kwargs, throw=False)
    if result.failed():
        logger.warning(
            "%s failed when run in place of its lost message (%s).",
            queued.name,
            type(result.result).__name__,
        )
    return False


def enqueue_on_commit(task: Task[P, Any] | str, *args: P.args, **kwargs: P.kwargs) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one), guarded
    like ``enqueue``: a broker failure neither fails the request nor skips the callbacks
    registered after this one. A name is looked up now: a misspelt one fails the change."""
    queued = _task(task)
    transaction.on_commit(lambda: enqueue(queued, *args, **kwargs))


def enqueue_or_run_on_commit(task: Task[P, Any] | str, *args: P.args, **kwargs: P.kwargs) -> None:
    """``enqueue_or_run`` once the current transaction commits."""
    queued = _task(task)
    transaction.on_commit(lambda: enqueue_or_run(queued, *args, **kwargs))
