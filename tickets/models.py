from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.choices import Channel, CustomerTier

from .choices import (
    AuthorKind,
    Presence,
    Priority,
    TicketEventType,
    TicketKind,
    TicketStatus,
)
from .querysets import TicketQuerySet

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
        from .canned import validate_template

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

    class Meta:
        verbose_name = _("ticket settings")
        verbose_name_plural = _("ticket settings")

    def __str__(self) -> str:
        return str(_("Ticket settings"))

    @classmethod
    def load(cls) -> "TicketSettings":
        return cls.objects.get_or_create(pk=1)[0]
