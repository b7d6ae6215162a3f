"""``csplatform.locks``: a transaction that loses a deadlock runs again, whole, and only the
outermost one; the advisory lock of a configuration is shared by readers, exclusive to
writers. On PostgreSQL, with the errors PostgreSQL itself raises."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from csplatform.locks import advisory_xact_lock, retry_on_deadlock
from tests.concurrency import run_at_once
from tickets.models import Tag

on_postgres = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def raise_from_the_server(sqlstate_name: str) -> None:
    """Have PostgreSQL abort the statement with this condition (e.g. ``deadlock_detected``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DO $$ BEGIN RAISE EXCEPTION '{sqlstate_name}' USING ERRCODE = '{sqlstate_name}'; "
            "END $$"
        )


@pytest.mark.parametrize("condition", ["deadlock_detected", "serialization_failure"])
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_loses_a_deadlock_runs_again_and_keeps_only_the_last_run(condition):
    attempts = []

    @retry_on_deadlock
    @transaction.atomic
    def tag():
        attempts.append(len(attempts) + 1)
        Tag.objects.create(name=f"attempt-{len(attempts)}")
        if len(attempts) < 3:
            raise_from_the_server(condition)

    tag()

    assert attempts == [1, 2, 3]
    assert list(Tag.objects.values_list("name", flat=True)) == ["attempt-3"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transactions_locking_two_rows_crosswise_both_commit():
    """A real deadlock: each holds one row and waits for the other's; PostgreSQL aborts one,
    which runs again once the other committed."""
    first, second = Tag.objects.create(name="first"), Tag.objects.create(name="second")
    both_hold_one = threading.Barrier(2)
    runs = []

    def crosswise(i: int) -> None:
        mine, theirs = (first, second) if i == 0 else (second, first)

        @retry_on_deadlock
        @transaction.atomic
        def rename():
            runs.append(i)
            Tag.objects.select_for_update().get(pk=mine.pk)
            if runs.count(i) == 1:  # the first run: wait until both hold their first row
                both_hold_one.wait(timeout=30)
            Tag.objects.filter(pk=theirs.pk).update(name=f"{theirs.name}-by-{i}")

        rename()

    run_at_once(2, crosswise)

    assert len(runs) == 3  # one of them ran twice
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["first-by-1", "second-by-0"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_an_outer_transaction_the_deadlock_is_the_outer_ones_to_retry():
    attempts = []

    @retry_on_deadlock
    @transaction.atomic
    def inner():
        attempts.append(1)
        raise_from_the_server("deadlock_detected")

    with pytest.raises(OperationalError), transaction.atomic():
        inner()
    assert attempts == [1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_other_database_errors_are_not_retried_and_the_last_deadlock_is_raised():
    other, deadlocks = [], []

    @retry_on_deadlock
    @transaction.atomic
    def lock_not_available():
        other.append(1)
        raise_from_the_server("lock_not_available")

    @retry_on_deadlock(attempts=4)
    @transaction.atomic
    def always_deadlocked():
        deadlocks.append(1)
        raise_from_the_server("deadlock_detected")

    with pytest.raises(OperationalError):
        lock_not_available()
    with pytest.raises(OperationalError, match="deadlock_detected"):
        always_deadlocked()
    assert (len(other), len(deadlocks)) == (1, 4)


@pytest.mark.django_db
def test_without_postgresql_the_function_runs_once():
    if connection.vendor == "postgresql":
        pytest.skip("SQLite's behaviour: nothing to detect there")
    attempts = []

    @retry_on_deadlock
    def once():
        attempts.append(1)
        raise OperationalError("database is locked")

    with pytest.raises(OperationalError):
        once()
    assert attempts == [1]
    with transaction.atomic():
        advisory_xact_lock("anything")  # a no-op


def lock_waits(name: str, *, shared: bool) -> bool:
    """Whether taking the advisory lock ``name`` in a new transaction of this thread would
    wait (given up after 200 ms)."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            advisory_xact_lock(name, shared=shared)
    except OperationalError:
        return True
    return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_advisory_lock_is_shared_by_readers_and_exclusive_to_a_writer():
    held = threading.Event()
    done = threading.Event()

    def hold_shared(_i):
        with transaction.atomic():
            advisory_xact_lock("configuration", shared=True)
            held.set()
            done.wait(timeout=30)

    holder = threading.Thread(target=run_at_once, args=(1, hold_shared))
    holder.start()
    try:
        assert held.wait(timeout=30)
        assert not lock_waits("configuration", shared=True)
        assert lock_waits("configuration", shared=False)
        assert not lock_waits("another configuration", shared=False)
    finally:
        done.set()
        holder.join(timeout=30)
    assert not lock_waits("configuration", shared=False)  # released at the holder's commit


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_advisory_transaction_lock_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        advisory_xact_lock("configuration")
