"""The period and filters of a KPI request, shared by the dashboard, the API and the exports.

The period is whole local days of the business time zone: a day, the week (Monday to Sunday)
or the month around ``date``, or any ``from``–``to`` range.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import Channel, CustomerTier
from tickets.choices import TicketKind
from tickets.models import Team

from .rollups.days import business_tz
from .selectors.slices import GRANULARITIES, Slice

PERIODS = (("day", _("Day")), ("week", _("Week")), ("month", _("Month")))
MAX_DAYS = 400
# Dates outside these years are typing mistakes; they also keep week and month ends computable.
FIRST_YEAR, LAST_YEAR = 2000, 2999


def today() -> date:
    return timezone.now().astimezone(business_tz()).date()


def period_bounds(period: str, anchor: date) -> tuple[date, date]:
    if period == "day":
        return anchor, anchor
    if period == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=6)
    start = anchor.replace(day=1)
    return start, anchor.replace(day=calendar.monthrange(anchor.year, anchor.month)[1])


@dataclass(frozen=True)
class Request:
    slice: Slice
    period: str  # day, week, month or "range"
    anchor: date
    granularity: str
    team: Team | None
    agent: object | None


class KpiFilterForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PERIODS, required=False)
    date = forms.DateField(label=_("Date"), required=False)
    from_ = forms.DateField(label=_("From"), required=False)
    to = forms.DateField(label=_("To"), required=False)
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False, empty_label=_("All teams")
    )
    agent = forms.CharField(label=_("Agent"), required=False, max_length=150)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=[("", _("All channels")), *Channel.choices], required=False
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All kinds")), *TicketKind.choices], required=False
    )
    tier = forms.ChoiceField(
        label=_("Customer tier"),
        choices=[("", _("All tiers")), *CustomerTier.choices],
        required=False,
    )
    granularity = forms.ChoiceField(
        label=_("Chart by"),
        choices=[("", _("Automatic")), *((g, g) for g in GRANULARITIES)],
        required=False,
    )

    def __init__(self, data, *, team_scope: tuple[int, ...] | None, **kwargs):
        data = data.copy()
        if "from" in data:
            data["from_"] = data.get("from")
        super().__init__(data, **kwargs)
        self.team_scope = team_scope
        teams = Team.objects.order_by("name")
        if team_scope is not None:
            teams = teams.filter(pk__in=team_scope)
        self.fields["team"].queryset = teams

    def clean_agent(self):
        username = self.cleaned_data["agent"].strip()
        if not username:
            return None
        agent = get_user_model().objects.filter(username=username).first()
        if agent is None:
            raise forms.ValidationError(_("No such agent."))
        return agent

    def clean(self):
        cleaned = super().clean()
        for name in ("date", "from_", "to"):
            value = cleaned.get(name)
            if value and not (FIRST_YEAR <= value.year <= LAST_YEAR):
                self.add_error(
                    name,
                    _("Choose a date between %(first)s and %(last)s.")
                    % {"first": FIRST_YEAR, "last": LAST_YEAR},
                )
                cleaned[name] = None
        start, end = cleaned.get("from_"), cleaned.get("to")
        if (start is None) != (end is None):
            raise forms.ValidationError(_("Give both ends of the range, or neither."))
        if start and end:
            if end < start:
                self.add_error("to", _("The end is before the start."))
            elif (end - start).days >= MAX_DAYS:
                self.add_error("to", _("At most %(days)s days.") % {"days": MAX_DAYS})
        return cleaned

    def kpi_request(self) -> Request:
        """The slice asked for, within the user's teams. Call after ``is_valid()``."""
        c = self.cleaned_data
        anchor = c.get("date") or today()
        if c.get("from_"):
            period, (start, end) = "range", (c["from_"], c["to"])
        else:
            period = c.get("period") or "week"
            start, end = period_bounds(period, anchor)
        team = c.get("team")
        team_ids = (team.pk,) if team else self.team_scope
        span = (end - start).days + 1
        granularity = c.get("granularity") or ("day" if span <= 62 else "week")
        s = Slice(
            start=start,
            end=end,
            team_ids=team_ids,
            agent_id=c["agent"].pk if c.get("agent") else None,
            channel=c.get("channel") or "",
            kind=c.get("kind") or "",
            tier=c.get("tier") or "",
        )
        return Request(
            slice=s,
            period=period,
            anchor=anchor,
            granularity=granularity,
            team=team,
            agent=c.get("agent"),
        )
