"""The SLA recompute under concurrency (sla.md, "Lifecycle rules" 3), on PostgreSQL: real
threads, each with its own connection; the deadlocks are PostgreSQL's own.

A recompute that loses a deadlock is run again until it is done, and running it again gives
the same clocks; a policy written while a recompute runs waits for the batch in progress
instead of deadlocking with it, and the due times end up as the new policy says.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from rest_framework.test import APIClient

from csplatform.actors import Actor
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, TeamFactory, admin_user, online_agent
from tickets.models import SlaClock, SlaPolicy, SlaTarget, Ticket, TicketSettings
from tickets.services import ticket_create
from tickets.sla import config, recompute
from tickets.tasks import sla_recompute_task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STOREFRONT = Actor(kind="api_key", label="storefront")


@pytest.fixture
def desk():
    team = TeamFactory(name="Service desk")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    online_agent(team, username="li.na")
    return team


def open_ticket(channel: str = "web") -> Ticket:
    # Created on the real clock: the recompute task reads it.
    return ticket_create(
        customer=CustomerFactory(),
        kind="inquiry",
        channel=channel,
        subject="还没发货",
        body="我的订单什么时候发？",
        actor=STOREFRONT,
    )


def first_response(ticket: Ticket) -> SlaClock:
    return SlaClock.objects.get(ticket=ticket, metric="first_response")


def clocks_of(tickets) -> list[tuple]:
    return list(
        SlaClock.objects.filter(ticket__in=tickets)
        .order_by("ticket_id", "metric", "cycle")
        .values_list(
            "ticket_id",
            "metric",
            "cycle",
            "status",
            "policy_id",
            "target_id",
            "target_minutes",
            "due_at",
            "warn_at",
        )
    )


def raise_a_deadlock() -> None:
    """The error PostgreSQL raises on a deadlock's victim (SQLSTATE 40P01), raised by the
    server in this connection's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' "
            "USING ERRCODE = 'deadlock_detected'; END $$"
        )


def test_a_recompute_that_loses_deadlocks_runs_again_until_the_due_times_follow_the_policy(
    desk, monkeypatch
):
    tickets = [open_ticket() for _ in range(4)]
    default = SlaPolicy.objects.get(name="Default")
    SlaTarget.objects.filter(policy=default, metric="first_response").update(minutes=30)
    lost = []
    sync = recompute.ticket_clocks_sync

    def sync_losing_three_deadlocks(ticket, **kwargs):
        if len(lost) < 3:
            lost.append(ticket.pk)
            raise_a_deadlock()
        return sync(ticket, **kwargs)

    monkeypatch.setattr(recompute, "ticket_clocks_sync", sync_losing_three_deadlocks)

    result = sla_recompute_task.apply(kwargs={"policy_ids": [default.pk]}, throw=False)

    assert result.successful(), result.result
    # Three lost attempts: the batch ran three times and gave up, the task ran again.
    assert len(lost) == 3
    assert result.result == len(tickets)
    for ticket in tickets:
        clock = first_response(ticket)
        assert (clock.status, clock.target_minutes) == ("active", 30)
        assert clock.due_at == ticket.created_at + timedelta(minutes=30)
        assert Ticket.objects.get(pk=ticket.pk).next_due_at == clock.due_at
    # Idempotent: running it again gives the same clocks.
    before = clocks_of(tickets)
    assert sla_recompute_task.apply(kwargs={"policy_ids": [default.pk]}).successful()
    assert clocks_of(tickets) == before


def someone_waits_for_a_lock(timeout: float = 20) -> bool:
    """Whether another connection to this database waits for a lock (polled up to
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh activity, not cached
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


def test_a_policy_written_while_a_recompute_runs_never_fails_and_the_due_times_follow_it(
    desk, monkeypatch
):
    """Issue #16: the recompute locks the clocks of its batch; the write deletes a target the
    batch's new clocks reference and a policy whose clocks the batch holds. Without a common
    lock each waited for the other at the batch's commit (its foreign-key checks on the
    deleted target) and one of them lost: the admin saw a 500, or the recompute died."""
    chat_tickets = [open_ticket("chat") for _ in range(3)]  # first: their clocks lock first
    web_tickets = [open_ticket("web") for _ in range(3)]
    tickets = chat_tickets + web_tickets
    default = SlaPolicy.objects.get(name="Default")
    chat = SlaPolicy.objects.get(name="Chat")
    # The write before: Default promised acceptance too; its recompute is the one running,
    # starting acceptance clocks on the web tickets.
    SlaTarget.objects.create(policy=default, metric="acceptance", minutes=24 * 60)
    # The write now: no more acceptance in Default, and no Chat policy (Default takes its
    # tickets, 15 minutes for the first response).
    policies = [p for p in config.policies_export() if p["name"] != "Chat"]
    for policy in policies:
        if policy["name"] == "Default":
            policy["targets"] = [t for t in policy["targets"] if t["metric"] != "acceptance"]
    admin = APIClient(raise_request_exception=False)  # a 500 is an answer to check
    admin.force_login(admin_user())

    batch_holds_its_locks = threading.Event()
    sync = recompute.ticket_clocks_sync
    synced = []

    def sync_then_commit_once_the_write_waits(ticket, **kwargs):
        sync(ticket, **kwargs)
        synced.append(ticket.pk)
        if len(synced) == len(tickets):  # the last ticket of the running recompute's batch
            batch_holds_its_locks.set()
            assert someone_waits_for_a_lock(), "the policy write never waited"

    monkeypatch.setattr(recompute, "ticket_clocks_sync", sync_then_commit_once_the_write_waits)

    def recompute_running():
        return sla_recompute_task.delay(policy_ids=[default.pk, chat.pk]).result

    def policy_write():
        assert batch_holds_its_locks.wait(timeout=30)
        response = admin.put("/api/v1/sla/policies/", policies, format="json")
        return response.status_code

    recomputed, status = run_at_once(2, lambda i: recompute_running() if i == 0 else policy_write())

    assert status == 200
    assert recomputed == len(tickets)
    assert not SlaPolicy.objects.filter(name="Chat").exists()
    assert not SlaTarget.objects.filter(policy=default, metric="acceptance").exists()
    for ticket in tickets:
        clock = first_response(ticket)
        assert (clock.status, clock.policy_id, clock.target_minutes) == ("active", default.pk, 15)
        assert clock.due_at == ticket.created_at + timedelta(minutes=15)
        assert Ticket.objects.get(pk=ticket.pk).next_due_at == clock.due_at
    running_acceptance = SlaClock.objects.filter(
        ticket__in=tickets, metric="acceptance", status__in=("active", "paused")
    )
    assert not running_acceptance.exists()
