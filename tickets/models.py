from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.choices import Channel, CustomerTier

from .canned import validate_template
from .choices import (
    AuthorKind,
    ClockStatus,
    Presence,
    Priority,
    SlaMetric,
    TicketEventType,
    TicketKind,
    TicketStatus,
)
from .querysets import TicketQuerySet
from .sla.calendar import WEEKDAYS, WorkCalendar

User = settings.AUTH_USER_MODEL


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    supervisor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_teams",
        verbose_name=_("supervisor"),
    )
    members = models.ManyToManyField(
        User, blank=True, related_name="teams", verbose_name=_("members")
    )
    calendar = models.ForeignKey(
        "BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="teams",
        verbose_name=_("business hours"),
        help_text=_(
            "When the team works. SLA notifications that wait for business hours wait for "
            "the team's next opening; without hours here, for the opening of the target's "
            "calendar."
        ),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentProfile(models.Model):
    """An agent's presence and capacity, which auto-assignment reads."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agent_profile")
    presence = models.CharField(
        _("presence"), max_length=10, choices=Presence.choices, default=Presence.OFFLINE
    )
    capacity = models.PositiveIntegerField(
        _("maximum open tickets"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
    )
    presence_changed_at = models.DateTimeField(_("presence changed at"), null=True, blank=True)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.presence})"


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    number = models.CharField(_("number"), max_length=16, unique=True, null=True, editable=False)  # noqa: DJ001
    subject = models.CharField(_("subject"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=TicketKind.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=8, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="tickets"
    )
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    order_exception = models.OneToOneField(
        "orders.OrderException",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket",
        help_text=_("The order exception this ticket was opened for."),
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    # First-contact ownership (首问负责制): the first agent who replied publicly, kept for good.
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_tickets"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    linked_from = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        help_text=_("The closed ticket this one continues."),
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_tickets"
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("reopen count"), default=0)
    # The nearest SLA due time of the ticket, kept by the SLA engine; drives queue order.
    next_due_at = models.DateTimeField(_("next due at"), null=True, blank=True)
    # When the nearest running clock warns ("breaching soon"); kept by the SLA engine too.
    next_warn_at = models.DateTimeField(_("breaching soon from"), null=True, blank=True)
    # Milestones recorded by the app that owns the ticket's process, name → ISO time
    # (complaints: ``acceptance``, ``plan``); SLA targets of the same name stop on them.
    milestones = models.JSONField(_("milestones"), default=dict, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["team", "status", "next_due_at"], name="ticket_team_queue"),
            models.Index(
                fields=["assignee", "status", "next_due_at"], name="ticket_assignee_queue"
            ),
            models.Index(fields=["status", "next_due_at"], name="ticket_status_due"),
            # Every ticket of some teams, soonest due first (the API's default queue); the
            # ``id`` completes the queue's order, so a page is read straight off the index.
            models.Index(fields=["next_due_at", "id"], name="ticket_due"),
            models.Index(fields=["customer", "created_at"], name="ticket_customer"),
            models.Index(fields=["status", "solved_at"], name="ticket_solved"),
            models.Index(fields=["created_at"], name="ticket_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="ticket_not_merged_into_itself"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"ticket {self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status not in (TicketStatus.SOLVED, TicketStatus.CLOSED)


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_kind = models.CharField(_("author"), max_length=10, choices=AuthorKind.choices)
    author_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    internal = models.BooleanField(_("internal note"), default=False)
    # Written by an automation (auto-acknowledgement, a rule's macro): never counts as a reply.
    automated = models.BooleanField(_("automated"), default=False)
    body = models.TextField(_("body"), max_length=20000)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="message_ticket")]
        constraints = [
            models.CheckConstraint(
                condition=Q(internal=False)
                | Q(author_kind=AuthorKind.AGENT)
                | Q(author_kind=AuthorKind.SYSTEM),
                name="message_internal_only_by_staff",
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.author_kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_public_agent_reply(self) -> bool:
        return self.author_kind == AuthorKind.AGENT and not self.internal and not self.automated


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="attachments/%Y/%m/")
    name = models.CharField(_("name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveIntegerField(_("size"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class TicketEvent(models.Model):
    """The audit timeline: every change, who made it, old → new."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(_("type"), max_length=20, choices=TicketEventType.choices)
    old_value = models.CharField(_("old"), max_length=200, blank=True)
    new_value = models.CharField(_("new"), max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    actor_kind = models.CharField(_("actor"), max_length=16)
    actor_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="ticket_event_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.type}"


class CannedReply(models.Model):
    title = models.CharField(_("title"), max_length=100)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Variables: {{ customer.name }}, {{ order.number }}, {{ order.status }}, "
            "{{ shipment.tracking_number }}, {{ agent.name }}"
        ),
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_replies",
        help_text=_("Empty: available to every team."),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        validate_template(self.body)


class RoutingRule(models.Model):
    """Sends new tickets to a team; the first active rule that matches wins."""

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=100)
    active = models.BooleanField(_("active"), default=True)
    kind = models.CharField(_("kind"), max_length=16, choices=TicketKind.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    customer_tier = models.CharField(
        _("customer tier"), max_length=16, choices=CustomerTier.choices, blank=True
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="routing_rules")
    set_priority = models.CharField(
        _("set priority"), max_length=8, choices=Priority.choices, blank=True
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def matches(self, *, kind: str, channel: str, customer_tier: str) -> bool:
        return (
            (not self.kind or self.kind == kind)
            and (not self.channel or self.channel == channel)
            and (not self.customer_tier or self.customer_tier == customer_tier)
        )


class TicketSettings(models.Model):
    """Desk-wide settings; one row, edited in admin."""

    auto_close_solved_after_hours = models.PositiveIntegerField(
        _("close solved tickets after (hours without a customer reply)"),
        default=96,
        validators=[MinValueValidator(1)],
    )
    default_team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Where tickets go when no routing rule matches."),
    )
    attachment_max_mb = models.PositiveIntegerField(
        _("largest attachment (MB)"), default=10, validators=[MinValueValidator(1)]
    )
    # Set when the rules of every running clock changed (an upgrade of the SLA metrics): the
    # periodic recompute resyncs all of them, then clears it; kept until a run finishes.
    sla_recompute_requested_at = models.DateTimeField(
        _("SLA recompute of all running clocks requested at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("ticket settings")
        verbose_name_plural = _("ticket settings")

    def __str__(self) -> str:
        return str(_("Ticket settings"))

    @classmethod
    def load(cls) -> "TicketSettings":
        return cls.objects.get_or_create(pk=1)[0]


# --- SLA engine -------------------------------------------------------------------------------


class BusinessCalendar(models.Model):
    """Open hours per weekday in a time zone, holidays and make-up working days; SLA targets
    count on it."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def spec(self, hours=None, holidays=None, workdays=None) -> dict:
        """The calendar as ``WorkCalendar.from_spec`` reads it (optionally with unsaved rows)."""
        hours = list(self.hours.all()) if hours is None else hours
        holidays = list(self.holidays.all()) if holidays is None else holidays
        workdays = list(self.workdays.all()) if workdays is None else workdays
        week = {day: [] for day in WEEKDAYS}
        for row in sorted(hours, key=lambda h: (h.weekday, h.opens)):
            week[WEEKDAYS[row.weekday]].append([row.opens, row.closes])
        return {
            "timezone": self.timezone,
            "week": week,
            "holidays": [h.date.isoformat() for h in holidays],
            "workdays": BusinessCalendarWorkday.spec_of(workdays),
        }

    def work_calendar(self):
        return WorkCalendar.from_spec(self.spec())


WEEKDAY_CHOICES = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class BusinessHours(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAY_CHOICES)
    opens = models.CharField(_("opens"), max_length=5, help_text="HH:MM")
    closes = models.CharField(_("closes"), max_length=5, help_text=_("HH:MM; 24:00 = midnight"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens}–{self.closes}"


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_calendar")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class BusinessCalendarWorkday(models.Model):
    """A make-up working day (调休): a date the calendar is normally closed on that is worked.

    A row without times works the date with the Monday hours; rows with times give the date
    hours of its own, one interval a row.
    """

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="workdays"
    )
    date = models.DateField(_("date"))
    opens = models.CharField(
        _("opens"), max_length=5, blank=True, help_text=_("HH:MM; empty: the Monday hours")
    )
    closes = models.CharField(
        _("closes"), max_length=5, blank=True, help_text=_("HH:MM; 24:00 = midnight")
    )
    name = models.CharField(
        _("name"), max_length=100, blank=True, help_text=_("E.g. the holiday it makes up for.")
    )

    class Meta:
        verbose_name = _("make-up working day")
        verbose_name_plural = _("make-up working days")
        ordering = ["date", "opens"]
        constraints = [
            models.UniqueConstraint(
                fields=["calendar", "date", "opens"], name="workday_interval_once_per_calendar"
            ),
            models.CheckConstraint(
                condition=Q(opens="", closes="") | (~Q(opens="") & ~Q(closes="")),
                name="workday_opens_and_closes_together",
                violation_error_message=_(
                    "Give both the opening and the closing time, or neither for the Monday hours."
                ),
            ),
        ]

    def __str__(self) -> str:
        hours = f" {self.opens}–{self.closes}" if self.opens else ""
        return f"{self.date}{hours} {self.name}".rstrip()

    @staticmethod
    def spec_of(rows) -> list[str] | dict[str, list[list[str]] | None]:
        """The ``workdays`` of a calendar spec: the dates when they all keep the Monday hours,
        else each date with its own intervals (None: the Monday hours)."""
        days: dict[str, list[list[str]] | None] = {}
        for row in sorted(rows, key=lambda w: (w.date, w.opens)):
            day = row.date.isoformat()
            if row.opens:
                days[day] = [*(days.get(day) or []), [row.opens, row.closes]]
            else:
                days.setdefault(day, None)
        if all(hours is None for hours in days.values()):
            return list(days)
        return days


class SlaPolicy(models.Model):
    """Targets for the tickets it matches; the first active matching policy applies.

    An empty condition matches everything.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=100)
    kinds = models.JSONField(_("kinds"), default=list, blank=True)
    priorities = models.JSONField(_("priorities"), default=list, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True)
    customer_tiers = models.JSONField(_("customer tiers"), default=list, blank=True)
    teams = models.ManyToManyField(Team, blank=True, related_name="sla_policies")
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    metric = models.CharField(_("metric"), max_length=16, choices=SlaMetric.choices)
    minutes = models.PositiveIntegerField(_("target (minutes)"), validators=[MinValueValidator(1)])
    calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="targets",
        help_text=_("Empty: calendar time (always open)."),
    )
    warning_percent = models.PositiveSmallIntegerField(
        _("warning share (percent of the target used)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )
    pausing_statuses = models.JSONField(
        _("pausing statuses"),
        default=list,
        blank=True,
        help_text=_("Ticket statuses in which this clock does not run, e.g. pending, on_hold."),
    )
    hold_notifications_outside_hours = models.BooleanField(
        _("hold notifications outside business hours"),
        default=False,
        help_text=_(
            "Warnings, breaches and escalations found outside the team's business hours "
            "(or, for a team without hours, this target's calendar) wait for the next opening."
        ),
    )

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(fields=["policy", "metric"], name="sla_target_once_per_metric"),
            models.CheckConstraint(condition=Q(minutes__gte=1), name="sla_target_positive"),
            models.CheckConstraint(
                condition=Q(warning_percent__gte=1) & Q(warning_percent__lte=99),
                name="sla_target_warning_share",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.metric} {self.minutes} min"


class EscalationAction(models.TextChoices):
    NOTIFY_ASSIGNEE = "notify_assignee", _("Notify the assignee")
    NOTIFY_SUPERVISOR = "notify_supervisor", _("Notify the team supervisor")
    NOTIFY_USER = "notify_user", _("Notify a named user")
    RAISE_PRIORITY = "raise_priority", _("Raise the priority one step")
    MOVE_TO_TEAM = "move_to_team", _("Move to a team")


class EscalationRule(models.Model):
    """What happens after a breach: each rule is one escalation level, run in order."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="escalations")
    metric = models.CharField(_("metric"), max_length=16, choices=SlaMetric.choices)
    minutes_after_breach = models.PositiveIntegerField(_("minutes after the breach"), default=0)
    action = models.CharField(_("action"), max_length=20, choices=EscalationAction.choices)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")
        ordering = ["metric", "minutes_after_breach", "id"]

    def __str__(self) -> str:
        return f"{self.metric} +{self.minutes_after_breach} min: {self.action}"


class SlaClock(models.Model):
    """One metric of one ticket (one cycle of it for next_response)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_clocks")
    metric = models.CharField(_("metric"), max_length=16, choices=SlaMetric.choices)
    cycle = models.PositiveIntegerField(default=1)
    policy = models.ForeignKey(
        SlaPolicy, null=True, on_delete=models.SET_NULL, related_name="clocks"
    )
    target = models.ForeignKey(SlaTarget, null=True, on_delete=models.SET_NULL, related_name="+")
    target_minutes = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=ClockStatus.choices)
    started_at = models.DateTimeField()
    # Time used, in the target's calendar, up to ``running_since`` (or until it stopped).
    used = models.DurationField(default=timedelta(0))
    running_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Positive: time to spare at the stop; negative: how late (in the target's calendar).
    margin = models.DurationField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        ordering = ["ticket", "metric", "cycle"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "metric", "cycle"], name="sla_clock_once_per_cycle"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"], name="sla_clock_due", condition=Q(status=ClockStatus.ACTIVE)
            ),
            models.Index(
                fields=["warn_at"],
                name="sla_clock_warn",
                condition=Q(status=ClockStatus.ACTIVE, warned_at__isnull=True),
            ),
            models.Index(
                fields=["next_escalation_at"],
                name="sla_clock_escalation",
                condition=Q(next_escalation_at__isnull=False),
            ),
            # The clocks breached and still running: the KPI tile "breached now".
            models.Index(
                fields=["ticket"],
                name="sla_clock_breached_running",
                condition=Q(status=ClockStatus.BREACHED, stopped_at__isnull=True),
            ),
            models.Index(fields=["policy", "status"], name="sla_clock_policy"),
            models.Index(fields=["stopped_at"], name="sla_clock_stopped"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.metric}#{self.cycle} {self.status}"

    @property
    def is_running(self) -> bool:
        return self.running_since is not None and self.stopped_at is None


class SlaEventKind(models.TextChoices):
    WARNING = "warning", _("Warning")
    BREACH = "breach", _("Breach")
    ESCALATION = "escalation", _("Escalation")


class SlaEvent(models.Model):
    """A warning, breach or escalation step: recorded once per clock, kind and level."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=SlaEventKind.choices)
    level = models.PositiveSmallIntegerField(default=0)
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("SLA event")
        verbose_name_plural = _("SLA events")
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "kind", "level"], name="sla_event_once_per_clock_kind_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.clock_id} {self.kind} {self.level}"


class Notification(models.Model):
    """An in-app notification (the desk's bell), also sent by e-mail once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20)
    text = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    # Held outside business hours when the policy says so: shown and sent from this moment.
    deliver_after = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    sla_event = models.ForeignKey(
        SlaEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at", "deliver_after"], name="notification_inbox"),
            # The e-mail batches' order (deliver_after, id): a batch is read off the index even
            # when thousands of notifications share one delivery time.
            models.Index(
                fields=["deliver_after", "id"],
                name="notification_unsent",
                condition=Q(emailed_at__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "sla_event"],
                condition=Q(sla_event__isnull=False),
                name="notification_once_per_sla_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.text}"
