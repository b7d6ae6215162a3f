"""SLA configuration as data: validation shared by the admin and the API, and its writes.

Calendars and policies are replaced whole from a JSON-like description, checked first, so a
bad interval or target never reaches the tables.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from orders.choices import Channel, CustomerTier

from ..choices import Priority, TicketKind, TicketStatus
from ..models import SlaMetric
from .calendar import WEEKDAYS, WorkCalendar

METRICS = tuple(SlaMetric.values)
ACTIONS = ("notify_assignee", "notify_supervisor", "notify_user", "raise_priority", "move_to_team")


def calendar_check(spec: dict) -> WorkCalendar:
    """The calendar of ``spec``, or ValidationError naming what is wrong with it."""
    try:
        calendar = WorkCalendar.from_spec(spec)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if not calendar.has_open_time:
        raise ValidationError(_("The calendar has no open time at all: add opening hours."))
    return calendar


def _choices(values, allowed, field: str) -> list[str]:
    values = list(values or [])
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationError({field: _("Unknown values: %s.") % ", ".join(unknown)})
    return values


def target_check(target: dict, where: str) -> None:
    minutes = target.get("minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        raise ValidationError(
            {where: _("The target must be a whole number of minutes above zero.")}
        )
    share = target.get("warning_percent", 80)
    if not isinstance(share, int) or isinstance(share, bool) or not 0 < share < 100:
        raise ValidationError({where: _("The warning share must be between 1 and 99 %.")})
    _choices(target.get("pausing_statuses"), TicketStatus.values, where)


def conditions_check(policy: dict) -> None:
    _choices(policy.get("kinds"), TicketKind.values, "kinds")
    _choices(policy.get("priorities"), Priority.values, "priorities")
    _choices(policy.get("channels"), Channel.values, "channels")
    _choices(policy.get("customer_tiers"), CustomerTier.values, "customer_tiers")


# --- As JSON ----------------------------------------------------------------------------------


def calendars_export() -> list[dict]:
    from ..models import BusinessCalendar

    return [
        {"name": c.name, **c.spec()}
        for c in BusinessCalendar.objects.prefetch_related("hours", "holidays")
    ]


def policies_export() -> list[dict]:
    from ..models import SlaPolicy

    out = []
    for p in SlaPolicy.objects.prefetch_related(
        "teams", "targets__calendar", "escalations__user", "escalations__team"
    ):
        out.append(
            {
                "name": p.name,
                "active": p.active,
                "position": p.position,
                "kinds": p.kinds,
                "priorities": p.priorities,
                "channels": p.channels,
                "customer_tiers": p.customer_tiers,
                "teams": sorted(t.name for t in p.teams.all()),
                "targets": [
                    {
                        "metric": t.metric,
                        "minutes": t.minutes,
                        "calendar": t.calendar.name if t.calendar_id else None,
                        "warning_percent": t.warning_percent,
                        "pausing_statuses": t.pausing_statuses,
                        "hold_notifications_outside_hours": t.hold_notifications_outside_hours,
                    }
                    for t in p.targets.all()
                ],
                "escalations": [
                    {
                        "metric": e.metric,
                        "minutes_after_breach": e.minutes_after_breach,
                        "action": e.action,
                        "user": e.user.get_username() if e.user_id else None,
                        "team": e.team.name if e.team_id else None,
                    }
                    for e in p.escalations.all()
                ],
            }
        )
    return out


@transaction.atomic
def calendars_replace(items: list[dict]) -> list[int]:
    """Replace every calendar named in ``items`` (others stay); returns the changed ids."""
    from ..models import BusinessCalendar, BusinessHours, Holiday

    changed = []
    for index, item in enumerate(items):
        name = (item.get("name") or "").strip()
        if not name:
            raise ValidationError({f"[{index}].name": _("A calendar needs a name.")})
        try:
            calendar_check(item)
        except ValidationError as error:
            raise ValidationError({f"[{index}] {name}": error.messages}) from None
        cal, _created = BusinessCalendar.objects.get_or_create(name=name)
        cal.timezone = item["timezone"]
        cal.save()
        cal.hours.all().delete()
        cal.holidays.all().delete()
        BusinessHours.objects.bulk_create(
            BusinessHours(calendar=cal, weekday=WEEKDAYS.index(day), opens=a, closes=b)
            for day, intervals in (item.get("week") or {}).items()
            for a, b in intervals
        )
        Holiday.objects.bulk_create(
            Holiday(calendar=cal, date=day) for day in sorted(set(item.get("holidays") or []))
        )
        changed.append(cal.pk)
    return changed


@transaction.atomic
def policies_replace(items: list[dict]) -> list[int]:
    """Replace the whole policy set: policies not named are deleted (their clocks cancelled
    by the recompute that follows)."""
    from django.contrib.auth import get_user_model

    from ..models import BusinessCalendar, EscalationRule, SlaPolicy, SlaTarget, Team

    names = [(p.get("name") or "").strip() for p in items]
    if "" in names or len(set(names)) != len(names):
        raise ValidationError({"name": _("Every policy needs a name of its own.")})
    calendars = {c.name: c for c in BusinessCalendar.objects.all()}
    teams = {t.name: t for t in Team.objects.all()}
    users = get_user_model().objects
    kept = []
    for item, name in zip(items, names, strict=True):
        conditions_check(item)
        metrics = [t.get("metric") for t in item.get("targets") or []]
        if len(set(metrics)) != len(metrics) or set(metrics) - set(METRICS):
            raise ValidationError(
                {name: _("One target per metric, from: %s.") % ", ".join(METRICS)}
            )
        for target in item.get("targets") or []:
            target_check(target, f"{name}.{target['metric']}")
            if target.get("calendar") and target["calendar"] not in calendars:
                raise ValidationError({name: _("No calendar named %s.") % target["calendar"]})
        unknown_teams = set(item.get("teams") or []) - set(teams)
        if unknown_teams:
            raise ValidationError({name: _("No team named %s.") % ", ".join(sorted(unknown_teams))})
        policy, _created = SlaPolicy.objects.get_or_create(name=name)
        was_active = policy.active
        policy.active = bool(item.get("active", True))
        policy.position = int(item.get("position", 100))
        for field in ("kinds", "priorities", "channels", "customer_tiers"):
            setattr(policy, field, list(item.get(field) or []))
        policy.save()
        if was_active and not policy.active:
            from .recompute import sla_policy_deactivated

            sla_policy_deactivated(policy_id=policy.pk)
        policy.teams.set([teams[t] for t in item.get("teams") or []])
        policy.targets.exclude(metric__in=metrics).delete()
        for target in item.get("targets") or []:
            SlaTarget.objects.update_or_create(
                policy=policy,
                metric=target["metric"],
                defaults={
                    "minutes": target["minutes"],
                    "calendar": calendars.get(target.get("calendar")),
                    "warning_percent": target.get("warning_percent", 80),
                    "pausing_statuses": list(target.get("pausing_statuses") or []),
                    "hold_notifications_outside_hours": bool(
                        target.get("hold_notifications_outside_hours", False)
                    ),
                },
            )
        policy.escalations.all().delete()
        for rule in item.get("escalations") or []:
            if rule.get("metric") not in METRICS or rule.get("action") not in ACTIONS:
                raise ValidationError({name: _("Escalations need a known metric and action.")})
            minutes = rule.get("minutes_after_breach", 0)
            if not isinstance(minutes, int) or minutes < 0:
                raise ValidationError({name: _("minutes_after_breach must be 0 or more.")})
            user = users.filter(username=rule["user"]).first() if rule.get("user") else None
            if rule["action"] == "notify_user" and user is None:
                raise ValidationError({name: _("notify_user needs an existing user.")})
            team = teams.get(rule.get("team")) if rule.get("team") else None
            if rule["action"] == "move_to_team" and team is None:
                raise ValidationError({name: _("move_to_team needs an existing team.")})
            EscalationRule.objects.create(
                policy=policy,
                metric=rule["metric"],
                minutes_after_breach=minutes,
                action=rule["action"],
                user=user,
                team=team,
            )
        kept.append(policy.pk)
    SlaPolicy.objects.exclude(pk__in=kept).delete()
    return kept
