"""Installations on the policies shipped before the metrics of sla.md: the unedited ones move to
the current defaults, edited ones stay, and every running clock is recomputed in the background
under the new rules (breaches already recorded stay recorded)."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import call_command

from csplatform.actors import Actor
from tests.factories import CustomerFactory, TeamFactory, online_agent
from tickets.models import (
    EscalationRule,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaTarget,
    Ticket,
    TicketSettings,
)
from tickets.reference_data import DEFAULT_ESCALATIONS, sla_policies_upgrade_to_v2
from tickets.services import ticket_create, ticket_reply, ticket_update
from tickets.signals import sla_clocks_recomputed
from tickets.sla.recompute import sla_recompute_requested
from tickets.sla.sweeper import sla_sweep

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
STOREFRONT = Actor(kind="api_key", label="storefront")
V1_STANDARD = (
    ("first_response", 15, []),
    ("handling", 1440, ["pending", "on_hold"]),
    ("closure", 2880, []),
)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def install_v1_policies() -> None:
    """The three policies as the first release shipped them."""
    SlaPolicy.objects.all().delete()
    for name, position, conditions, extra in (
        (
            "Complaints",
            10,
            {"kinds": ["complaint"]},
            [("acceptance", 1440, []), ("plan", 2880, [])],
        ),
        ("VIP customers", 20, {"customer_tiers": ["vip"]}, []),
        ("Default", 100, {}, []),
    ):
        policy = SlaPolicy.objects.create(name=name, position=position, **conditions)
        for metric, minutes, pausing in (*V1_STANDARD, *extra):
            SlaTarget.objects.create(
                policy=policy, metric=metric, minutes=minutes, pausing_statuses=pausing
            )
        for metric, after, action in DEFAULT_ESCALATIONS:
            EscalationRule.objects.create(
                policy=policy, metric=metric, minutes_after_breach=after, action=action
            )


@pytest.fixture
def agent():
    team = TeamFactory(name="Desk")
    settings = TicketSettings.load()
    settings.default_team = team
    settings.save()
    return online_agent(team, username="li.na")


def open_ticket(kind="inquiry", now=T0) -> Ticket:
    return ticket_create(
        customer=CustomerFactory(),
        kind=kind,
        channel="web",
        subject="问题",
        body="你好",
        actor=STOREFRONT,
        now=now,
    )


def clock(ticket, metric) -> SlaClock:
    return SlaClock.objects.filter(ticket=ticket, metric=metric).order_by("-cycle").first()


def targets(name: str) -> dict:
    policy = SlaPolicy.objects.get(name=name)
    return {t.metric: (t.minutes, sorted(t.pausing_statuses)) for t in policy.targets.all()}


def test_unedited_shipped_policies_move_to_the_current_defaults():
    install_v1_policies()

    changed = sla_policies_upgrade_to_v2(apps)

    assert set(changed) == {
        "Complaints and after-sales",
        "VIP customers",
        "Default",
        "Chat",
        "Live stream",
    }
    assert targets("Default") == {
        "first_response": (15, []),
        "handling": (1440, ["on_hold"]),
        "closure": (2880, ["on_hold", "pending"]),
    }
    cases = SlaPolicy.objects.get(name="Complaints and after-sales")
    assert cases.kinds == ["complaint", "after_sales", "return_refund"]
    assert set(targets(cases.name)) == {"first_response", "acceptance", "plan", "closure"}
    assert targets("Chat")["first_response"] == (5, [])
    assert sla_policies_upgrade_to_v2(apps) == []  # done once


def test_a_policy_an_admin_edited_is_left_as_it_is():
    install_v1_policies()
    SlaTarget.objects.filter(policy__name="Default", metric="first_response").update(minutes=30)
    SlaPolicy.objects.filter(name="VIP customers").update(position=5)

    changed = sla_policies_upgrade_to_v2(apps)

    assert changed == ["Complaints and after-sales"]
    assert targets("Default")["handling"] == (1440, ["on_hold", "pending"])
    assert targets("Default")["first_response"] == (30, [])
    assert not SlaPolicy.objects.filter(name__in=["Chat", "Live stream"]).exists()


def left_running(ticket, metric, *, used: float, since: float, due: float) -> None:
    SlaClock.objects.filter(ticket=ticket, metric=metric).update(
        status="active",
        stopped_at=None,
        margin=None,
        used=timedelta(hours=used),
        running_since=at(since),
        paused_at=None,
        due_at=at(due),
        warn_at=None,
    )


def test_the_recompute_after_the_upgrade_applies_the_new_rules_to_running_clocks(
    agent, django_capture_on_commit_callbacks, monkeypatch
):
    install_v1_policies()
    solved = open_ticket(now=at(10))
    ticket_reply(ticket=solved, user=agent, body="已解决", then_status="solved", now=at(15))
    late = open_ticket(now=at(0))
    ticket_reply(ticket=late, user=agent, body="已解决", then_status="solved", now=at(47))
    pending = open_ticket(now=at(10))
    ticket_reply(ticket=pending, user=agent, body="请补充", then_status="pending", now=at(12))
    complaint = open_ticket(kind="complaint", now=at(30))
    # What the engine of the first release left: closure running on solved tickets until the
    # automatic close, handling paused (not met) on a ticket answered and set pending.
    left_running(solved, "closure", used=5, since=15, due=58)
    left_running(late, "closure", used=47, since=47, due=48)
    SlaClock.objects.filter(ticket=pending, metric="handling").update(
        status="paused",
        stopped_at=None,
        margin=None,
        used=timedelta(hours=2),
        running_since=None,
        paused_at=at(12),
        due_at=None,
    )
    sla_sweep(now=at(49))  # the old closure breached at 48 h on the late ticket
    assert clock(late, "closure").status == "breached"
    assert clock(complaint, "handling").status == "active"

    sla_policies_upgrade_to_v2(apps)
    TicketSettings.objects.filter(pk=1).update(sla_recompute_requested_at=at(49))
    heard, rebuilds = [], []

    def listen(sender, count, **kwargs):
        heard.append(count)

    monkeypatch.setattr("kpis.tasks.kpis_rebuild_task.delay", lambda: rebuilds.append("queued"))
    sla_clocks_recomputed.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert sla_recompute_requested(now=at(50), batch_size=2) == 4
    finally:
        sla_clocks_recomputed.disconnect(listen)

    closure = clock(solved, "closure")
    assert (closure.status, closure.stopped_at, closure.used) == ("met", at(15), timedelta(hours=5))
    late_closure = clock(late, "closure")
    assert late_closure.status == "breached"  # recorded before: stays recorded
    assert SlaEvent.objects.filter(clock=late_closure, kind="breach").count() == 1
    assert clock(pending, "handling").status == "met"  # a reply and pending: met now
    assert clock(pending, "closure").status == "paused"
    assert clock(complaint, "handling").status == "cancelled"
    assert clock(complaint, "acceptance").status == "active"
    assert TicketSettings.load().sla_recompute_requested_at is None
    assert heard == [4]
    assert rebuilds == ["queued"]  # the KPIs are derived again from the recomputed clocks
    assert sla_recompute_requested(now=at(51)) is None  # nothing left to do


def test_a_run_cut_short_leaves_the_request_for_the_next_run(agent, monkeypatch):
    install_v1_policies()
    open_ticket()
    TicketSettings.objects.filter(pk=1).update(sla_recompute_requested_at=at(1))

    def dies(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr("tickets.sla.recompute.ticket_clocks_sync", dies)
    with pytest.raises(RuntimeError):
        sla_recompute_requested(now=at(2))
    assert TicketSettings.load().sla_recompute_requested_at == at(1)


def test_the_recompute_command_resyncs_every_running_clock_by_hand(agent, monkeypatch):
    monkeypatch.setattr("kpis.tasks.kpis_rebuild_task.delay", lambda: None)
    ticket = open_ticket()
    ticket_update(ticket=ticket, by_user=agent, status="pending", now=at(1))
    SlaTarget.objects.filter(policy__name="Default", metric="closure").update(
        pausing_statuses=["on_hold"]
    )
    out = StringIO()

    call_command("sla_recompute", "--batch-size", "10", stdout=out)

    assert "1 tickets resynced" in out.getvalue()
    assert clock(ticket, "closure").status == "active"  # pending no longer pauses it
    assert TicketSettings.load().sla_recompute_requested_at is None


def test_the_migration_requests_the_recompute_only_where_policies_changed():
    from importlib import import_module

    migration = import_module("tickets.migrations.0011_sla_metrics_v2")
    TicketSettings.objects.filter(pk=1).update(sla_recompute_requested_at=None)
    migration.upgrade_policies(apps, None)  # a fresh install is on the defaults already
    assert TicketSettings.load().sla_recompute_requested_at is None

    install_v1_policies()
    migration.upgrade_policies(apps, None)
    assert TicketSettings.load().sla_recompute_requested_at is not None
