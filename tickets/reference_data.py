"""Rows every installation starts with, written by data migrations (and restored by tests)."""


def ensure_default_team(apps, schema_editor=None) -> None:
    """Tickets always land in a queue: a default team for what no routing rule catches."""
    Team = apps.get_model("tickets", "Team")
    TicketSettings = apps.get_model("tickets", "TicketSettings")
    team, _ = Team.objects.get_or_create(name="General service")
    settings, _ = TicketSettings.objects.get_or_create(pk=1)
    if settings.default_team_id is None:
        settings.default_team = team
        settings.save(update_fields=["default_team"])


# The promises of the operations manuals: 15-minute first response, 24-hour handling,
# 48-hour closure, in calendar time; complaints and VIP customers get their own policies so
# that an admin can tighten them without touching the default.
DEFAULT_TARGETS = (("first_response", 15), ("handling", 24 * 60), ("closure", 48 * 60))
DEFAULT_POLICIES = (
    ("Complaints", 10, {"kinds": ["complaint"]}),
    ("VIP customers", 20, {"customer_tiers": ["vip"]}),
    ("Default", 100, {}),
)


def ensure_default_sla_policies(apps, schema_editor=None) -> None:
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    SlaTarget = apps.get_model("tickets", "SlaTarget")
    EscalationRule = apps.get_model("tickets", "EscalationRule")
    if SlaPolicy.objects.exists():
        return
    for name, position, conditions in DEFAULT_POLICIES:
        policy = SlaPolicy.objects.create(name=name, position=position, **conditions)
        for metric, minutes in DEFAULT_TARGETS:
            SlaTarget.objects.create(
                policy=policy,
                metric=metric,
                minutes=minutes,
                warning_percent=80,
                pausing_statuses=["pending", "on_hold"] if metric == "handling" else [],
            )
        # A missed first response: the supervisor hears of it at once, the priority rises
        # after 30 more minutes without a reply.
        EscalationRule.objects.create(
            policy=policy,
            metric="first_response",
            minutes_after_breach=0,
            action="notify_supervisor",
        )
        EscalationRule.objects.create(
            policy=policy,
            metric="first_response",
            minutes_after_breach=30,
            action="raise_priority",
        )
    ensure_complaint_milestone_targets(apps)


# Complaints carry two more promises (受理 within 24 h, a handling plan within 48 h), measured
# from the ticket's creation and met when the complaints app records the milestone.
COMPLAINT_MILESTONE_TARGETS = (("acceptance", 24 * 60), ("plan", 48 * 60))


def ensure_complaint_milestone_targets(apps, schema_editor=None) -> None:
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    SlaTarget = apps.get_model("tickets", "SlaTarget")
    for policy in SlaPolicy.objects.all():
        if "complaint" not in (policy.kinds or []):
            continue
        for metric, minutes in COMPLAINT_MILESTONE_TARGETS:
            SlaTarget.objects.get_or_create(
                policy=policy,
                metric=metric,
                defaults={"minutes": minutes, "warning_percent": 80, "pausing_statuses": []},
            )
