"""KPI targets (edited in admin) and the derived tables that keep the dashboard fast.

``TicketFact`` holds one row per ticket with everything the ticket figures need, already
worked out (local days, durations, histogram buckets, first-contact resolution), plus the
list of days the ticket counts on. ``TicketDayRollup`` sums the facts and the stopped SLA clocks
per local day × team × agent × channel × kind × customer tier; the dashboard reads only it for
ticket figures. Both are rebuilt from the source tables at any time (``kpis.rollups``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .definitions import HIGHER, HISTOGRAM_BUCKETS, LOWER, METRICS, SLA_METRICS

TIMED = ("frt", "handling", "closure")  # the durations with statistics and histograms
CALENDARS = ("cal", "bus")


def metric_choices():
    return [(key, metric.label) for key, metric in METRICS.items()]


class KpiTarget(models.Model):
    metric = models.CharField(_("metric"), max_length=48, unique=True, choices=metric_choices())
    value = models.FloatField(_("target"))
    direction = models.CharField(
        _("direction"),
        max_length=8,
        choices=[
            (HIGHER, _("at least (higher is better)")),
            (LOWER, _("at most (lower is better)")),
        ],
    )

    class Meta:
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        ordering = ["metric"]

    def __str__(self) -> str:
        sign = "≥" if self.direction == HIGHER else "≤"
        return f"{self.metric} {sign} {self.value:g}"


class RefreshState(models.Model):
    """Where the incremental refresh stopped: the newest ``updated_at`` (tickets, orders) or
    id (survey responses and invitations, return requests, refunds) it has read."""

    name = models.CharField(max_length=32, unique=True)
    watermark = models.DateTimeField(null=True, blank=True)
    last_id = models.BigIntegerField(null=True, blank=True)  # the newest id counted
    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} {self.watermark}"


class OrderDayRollup(models.Model):
    """Orders placed per local day, channel and customer tier: what the "per 1,000 orders"
    figures divide by, read without counting a period's orders one by one."""

    day = models.DateField()
    channel = models.CharField(max_length=16)
    tier = models.CharField(max_length=16)
    orders = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "tier"], name="order_day_rollup_once")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.tier}: {self.orders}"


# The dimensions of the rollups at the finest grain, in the order of their keys.
CUBE_FIELDS = ("day", "team_id", "agent_id", "channel", "kind", "tier")


class DayTeamCube(models.Model):
    """A rollup row's key without the agent: local day × team × channel × ticket kind ×
    customer tier; a few hundred rows a day whatever the volume, for every slice that neither
    filters nor groups by agent."""

    day = models.DateField()
    team_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    tier = models.CharField(max_length=16)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} team={self.team_id}"


class DayCube(DayTeamCube):
    """The finest key: the same with the agent (``CUBE_FIELDS``)."""

    agent_id = models.BigIntegerField(null=True)

    class Meta(DayTeamCube.Meta):
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} {self.team_id} {self.agent_id} {self.channel} {self.kind}"


class DayAgentCube(models.Model):
    """The same key per agent and team only: the leaderboard."""

    day = models.DateField()
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day} agent={self.agent_id}"


SURVEY_MEASURES = (
    "csat_sent",  # CSAT invitations sent that day …
    "csat_answered",  # … and of them, answered by now
    "csat_n",  # responses of that day
    "csat_good",
    "csat_total",
    "nps_n",
    "nps_promoters",
    "nps_detractors",
    "complaint_n",
    "complaint_good",
)


class SurveyDayRollup(DayCube):
    """Survey invitations (by the local day they were sent) and responses (by the day they
    were answered) per team × agent × channel × ticket kind × customer tier, as the surveys
    attribute them."""

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="kpi_survey_rollup_day"),
            models.Index(fields=["agent_id", "day"], name="kpi_survey_rollup_agent"),
        ]


class SurveyDayTeamRollup(DayTeamCube):
    """The survey counts without the agent."""

    class Meta:
        indexes = [models.Index(fields=["day"], name="kpi_survey_team_rollup_day")]


class SurveyDayAgentRollup(DayAgentCube):
    """The survey counts per agent and team only."""

    class Meta:
        indexes = [models.Index(fields=["day"], name="kpi_survey_agent_rollup_day")]


SURVEY_ROLLUPS = (SurveyDayRollup, SurveyDayTeamRollup, SurveyDayAgentRollup)
for _model in SURVEY_ROLLUPS:
    for _name in SURVEY_MEASURES:
        _model.add_to_class(_name, models.IntegerField(default=0))


class ReturnDayRollup(DayCube):
    """Return requests (by the local day they were made) and refunds paid out (by the day
    they settled) per team × agent × channel × kind × customer tier of the return's ticket."""

    returns = models.IntegerField(default=0)
    refund_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    refunds_of_requests = models.IntegerField(default=0)  # refunds paid for a return request
    request_to_refund_seconds = models.BigIntegerField(default=0)  # summed over those
    # Requests refunded (first refund settled) that day, received back before; and of them,
    # those refunded within the working-day limit of receipt.
    received = models.IntegerField(default=0)
    received_in_time = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="kpi_return_rollup_day")]


class ComplaintDayRollup(DayCube):
    """Complaints by the local day they were filed, per team × agent × channel × kind × tier of
    their ticket (the channel the complaint came in by, the tier of its customer), category and
    severity; with those accepted within 24 hours of filing."""

    category = models.CharField(max_length=24)
    severity = models.CharField(max_length=8)
    complaints = models.IntegerField(default=0)
    accepted_24h = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="kpi_complaint_rollup_day")]


class TicketFact(models.Model):
    ticket = models.OneToOneField(
        "tickets.Ticket", primary_key=True, on_delete=models.CASCADE, related_name="kpi_fact"
    )
    team_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    channel = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    tier = models.CharField(max_length=16)
    merged = models.BooleanField(default=False)
    created_day = models.DateField()
    finished = models.BooleanField(default=False)  # solved or closed now
    solved_day = models.DateField(null=True)
    reopened = models.BooleanField(default=False)
    fcr = models.BooleanField(default=False)
    # Every local day this ticket counts on (created, solved, any clock stopped): when the ticket
    # changes, these days and its new ones are summed again.
    days = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["created_day"], name="kpi_fact_created"),
            models.Index(fields=["solved_day"], name="kpi_fact_solved"),
            models.Index(fields=["frt_day"], name="kpi_fact_frt"),
            models.Index(fields=["handling_day"], name="kpi_fact_handling"),
            models.Index(fields=["closure_day"], name="kpi_fact_closure"),
        ]

    def __str__(self) -> str:
        return f"fact {self.ticket_id}"


for _timed in TIMED:
    TicketFact.add_to_class(f"{_timed}_day", models.DateField(null=True))
    TicketFact.add_to_class(f"{_timed}_met", models.BooleanField(null=True))
    for _cal in CALENDARS:
        TicketFact.add_to_class(f"{_timed}_{_cal}_seconds", models.BigIntegerField(null=True))
        TicketFact.add_to_class(f"{_timed}_{_cal}_bucket", models.SmallIntegerField(null=True))


class TicketDayRollup(DayCube):
    """The finest grain: day × team × agent × channel × kind × tier."""

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="kpi_rollup_day"),
            models.Index(fields=["team_id", "day"], name="kpi_rollup_team"),
            models.Index(fields=["agent_id", "day"], name="kpi_rollup_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.day} team={self.team_id} agent={self.agent_id}"


class TicketDayTeamRollup(DayTeamCube):
    """The ticket sums without the agent."""

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="kpi_team_rollup_day"),
            models.Index(fields=["team_id", "day"], name="kpi_team_rollup_team"),
        ]


class TicketDayAgentRollup(DayAgentCube):
    """The ticket sums per agent and team only."""

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="kpi_agent_rollup_day"),
            models.Index(fields=["agent_id", "day"], name="kpi_agent_rollup_agent"),
        ]


ROLLUPS = (TicketDayRollup, TicketDayTeamRollup, TicketDayAgentRollup)


def rollup_histogram_field(timed: str, cal: str, bucket: int) -> str:
    return f"{timed}_{cal}_h{bucket:02d}"


def _measures():
    for name in ("created", "finished", "solved", "fcr", "reopened"):
        yield name, models.IntegerField(default=0)
    for timed in TIMED:
        yield f"{timed}_count", models.IntegerField(default=0)
        yield f"{timed}_met", models.IntegerField(default=0)
        for cal in CALENDARS:
            yield f"{timed}_{cal}_seconds", models.BigIntegerField(default=0)
            for bucket in range(HISTOGRAM_BUCKETS):
                yield rollup_histogram_field(timed, cal, bucket), models.IntegerField(default=0)
    for metric in SLA_METRICS:
        yield f"sla_{metric}_met", models.IntegerField(default=0)
        yield f"sla_{metric}_breached", models.IntegerField(default=0)


for _model in ROLLUPS:
    for _name, _field in _measures():
        _model.add_to_class(_name, _field)
MEASURES = [name for name, _field in _measures()]
