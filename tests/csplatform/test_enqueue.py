"""Tasks queued after commit (``csplatform.enqueue``): a broker failure is logged and skipped,
never raised into the request, and never keeps the next after-commit task from being queued."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from csplatform.enqueue import enqueue, enqueue_on_commit, enqueue_or_run

pytestmark = pytest.mark.django_db


def task(name: str, error: Exception | None = None) -> mock.Mock:
    queued = mock.Mock(name=name, delay=mock.Mock(side_effect=error))
    queued.name = name
    return queued


def test_tasks_are_queued_after_the_commit_and_not_at_all_after_a_rollback(
    django_capture_on_commit_callbacks,
):
    payout = task("payout")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(payout, 7, reason="approved")
        payout.delay.assert_not_called()
    payout.delay.assert_called_once_with(7, reason="approved")

    rolled_back = task("rolled back")
    with (  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue_on_commit(rolled_back, 8)
        raise RuntimeError
    assert callbacks == []
    rolled_back.delay.assert_not_called()


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        RedisConnectionError("Connection closed by server."),
        PermissionError("broker folder not writable"),
    ],
    ids=["kombu", "redis", "folder"],
)
def test_a_task_the_broker_refuses_is_logged_and_the_next_ones_are_still_queued(
    django_capture_on_commit_callbacks, caplog, error
):
    solve, payout, survey = task("solve", error), task("payout"), task("survey")
    with (
        caplog.at_level(logging.WARNING, logger="csplatform.enqueue"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        enqueue_on_commit(solve, 1)
        enqueue_on_commit(payout, 2)
        enqueue_on_commit(survey, 3)

    payout.delay.assert_called_once_with(2)
    survey.delay.assert_called_once_with(3)
    [warning] = caplog.records
    assert warning.levelno == logging.WARNING
    assert "Could not queue solve" in warning.getMessage()
    assert "1" not in warning.getMessage().split("(", 1)[0]  # no arguments in the line


def test_enqueue_queues_at_once_and_says_whether_the_broker_took_it():
    assert enqueue(task("fine"), 1) is True
    assert enqueue(task("refused", OperationalError("down")), 1) is False


def test_an_error_of_the_task_itself_is_not_mistaken_for_the_broker():
    """Run in-process (the test settings), a task's own bug still surfaces."""
    with pytest.raises(ValueError, match="bug"):
        enqueue(task("buggy", ValueError("bug")), 1)


def test_work_no_sweep_comes_back_for_runs_in_place_when_the_broker_refuses_it(caplog):
    solve = task("solve", OperationalError("down"))
    assert enqueue_or_run(solve, 7, now="later") is False
    solve.apply.assert_called_once_with((7,), {"now": "later"}, throw=False)

    fine = task("fine")
    assert enqueue_or_run(fine, 8) is True
    fine.apply.assert_not_called()


def test_a_run_in_place_that_fails_is_logged_not_raised(caplog):
    failing = task("failing", OperationalError("down"))
    failing.apply.return_value = mock.Mock(
        failed=mock.Mock(return_value=True), result=ValueError("bug")
    )
    with caplog.at_level(logging.WARNING, logger="csplatform.enqueue"):
        assert enqueue_or_run(failing, 1) is False
    assert "failing failed when run in place of its lost message (ValueError)" in caplog.text
