"""SLA configuration as data: validation shared by the admin and the API, and its writes.

Calendars and policies are replaced whole from a JSON-like description, checked first, so a
bad interval or target never reaches the tables.

Every write of the configuration takes ``sla_config_lock()`` first, exclusively; each batch of
the recompute takes it shared before it reads the configuration (``recompute.py``). Without
it they deadlocked: a write deleted a target that the batch's new clocks reference (a key
checked at the batch's commit) and then waited for the clocks the batch holds, to set their
deleted policy or target to null; and a batch counted with a configuration deleted under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders.choices import Channel, CustomerTier
from tickets.choices import Priority, SlaMetric, TicketKind, TicketStatus
from tickets.models import (
    BusinessCalendar,
    BusinessCalendarWorkday,
    BusinessHours,
    EscalationRule,
    Holiday,
    SlaPolicy,
    SlaTarget,
    Team,
)

from .calendar import WEEKDAYS, WorkCalendar
from .locks import sla_config_lock
from .recompute import sla_policy_deactivated

if TYPE_CHECKING:
    from tickets.models import BusinessCalendar

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


def workdays_check(workdays: object) -> None:
    """The ``workdays`` of a calendar spec read: dates, and hours like a weekday's."""
    try:
        WorkCalendar.from_spec({"timezone": "UTC", "workdays": workdays})
    except ValueError as error:
        raise ValidationError(str(error)) from None


def days_clash_check(holidays: set[date], workdays: set[date]) -> None:
    """A date is a holiday or a make-up working day, not both."""
    both = sorted(holidays & workdays)
    if both:
        raise ValidationError(
            ngettext(
                "%(dates)s is both a holiday and a make-up working day.",
                "%(dates)s are both holidays and make-up working days.",
                len(both),
            )
            % {"dates": ", ".join(day.isoformat() for day in both)}
        )


def _choices(values: Iterable[str] | None, allowed: Iterable[str], field: str) -> list[str]:
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
    return [
        {"name": c.name, **c.spec()}
        for c in BusinessCalendar.objects.prefetch_related("hours", "holidays", "workdays")
    ]


def policies_export() -> list[dict]:
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
                        "calendar": t.calendar.name if t.calendar else None,
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
                        "user": e.user.get_username() if e.user else None,
                        "team": e.team.name if e.team else None,
                    }
                    for e in p.escalations.all()
                ],
            }
        )
    return out


@transaction.atomic
def calendars_replace(items: list[dict]) -> list[int]:
    """Replace every calendar named in ``items`` (others stay); returns the changed ids."""
    sla_config_lock()
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
        cal.workdays.all().delete()
        BusinessHours.objects.bulk_create(
            BusinessHours(calendar=cal, weekday=WEEKDAYS.index(day), opens=a, closes=b)
            for day, intervals in (item.get("week") or {}).items()
            for a, b in intervals
        )
        Holiday.objects.bulk_create(
            Holiday(calendar=cal, date=day) for day in sorted(set(item.get("holidays") or []))
        )
        # A list: the Monday hours (a row without times); a mapping: the date's own intervals,
        # one row each, or None for the Monday hours. Checked above by calendar_check.
        workdays = item.get("workdays") or []
        if not isinstance(workdays, dict):
            workdays = dict.fromkeys(workdays)
        BusinessCalendarWorkday.objects.bulk_create(
            BusinessCalendarWorkday(calendar=cal, date=day, opens=opens, closes=closes)
            for day, intervals in workdays.items()
            for opens, closes in (intervals if intervals is not None else [("", "")])
        )
        changed.append(cal.pk)
    return changed


@dataclass(frozen=True)
class DaysAdded:
    holidays: int
    workdays: int
    left: list[date]  # dates already of the other kind, left as they were


def calendar_days_add(
    *, calendar: BusinessCalendar, holidays: Mapping[date, str], workdays: Mapping[date, str]
) -> DaysAdded:
    """Add the holidays and make-up working days (with the Monday hours) that ``calendar`` does
    not have yet, with their names. A date the calendar already has as the other kind of day
    is left as it is and reported: adding it would make the calendar contradict itself.
    Running it twice adds nothing the second time."""
    with transaction.atomic():
        sla_config_lock()
        # One import at a time per calendar: both would otherwise add the same dates.
        calendar = BusinessCalendar.objects.select_for_update(no_key=True).get(pk=calendar.pk)
        had_holidays = set(calendar.holidays.values_list("date", flat=True))
        had_workdays = set(calendar.workdays.values_list("date", flat=True))
        left = (set(holidays) & had_workdays) | (set(workdays) & had_holidays)
        left |= set(holidays) & set(workdays)
        new_holidays = [
            Holiday(calendar=calendar, date=day, name=name[:100])
            for day, name in sorted(holidays.items())
            if day not in had_holidays and day not in left
        ]
        new_workdays = [
            BusinessCalendarWorkday(calendar=calendar, date=day, name=name[:100])
            for day, name in sorted(workdays.items())
            if day not in had_workdays and day not in left
        ]
        Holiday.objects.bulk_create(new_holidays)
        BusinessCalendarWorkday.objects.bulk_create(new_workdays)
        if new_holidays or new_workdays:
            calendar.save(update_fields=["updated_at"])  # a new version for the calendar cache
    return DaysAdded(holidays=len(new_holidays), workdays=len(new_workdays), left=sorted(left))


@transaction.atomic
def policies_replace(items: list[dict]) -> list[int]:
    """Replace the whole policy set: policies not named are deleted (their clocks cancelled
    by the recompute that follows)."""
    from django.contrib.auth import get_user_model

    sla_config_lock()
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
