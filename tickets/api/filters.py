import django_filters
from django.utils import timezone

from orders.choices import Channel
from tickets.choices import Priority, TicketKind, TicketStatus
from tickets.models import Team
from tickets.selectors import ORDERINGS, QueueFilters, ticket_queue


class TicketQueueFilter(django_filters.FilterSet):
    """The agent queue's query parameters; the selector does the filtering."""

    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices, method="keep")
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, method="keep")
    kind = django_filters.MultipleChoiceFilter(choices=TicketKind.choices, method="keep")
    channel = django_filters.MultipleChoiceFilter(choices=Channel.choices, method="keep")
    team = django_filters.CharFilter(method="keep", help_text="Team name.")
    assignee = django_filters.CharFilter(method="keep", help_text="`me`, `none` or a username.")
    sla = django_filters.ChoiceFilter(
        choices=[("breaching_soon", "breaching_soon"), ("breached", "breached")], method="keep"
    )
    tag = django_filters.CharFilter(method="keep")
    q = django_filters.CharFilter(
        method="keep", help_text="Subject, ticket number, order number, customer name or phone."
    )
    ordering = django_filters.ChoiceFilter(
        choices=[(o, o) for o in ORDERINGS], method="keep", empty_label=None
    )
    view = django_filters.ChoiceFilter(
        choices=[
            (v, v)
            for v in ("mine", "unassigned", "team", "breaching_soon", "breached", "pending", "all")
        ],
        method="keep",
        help_text="A desk queue view; default: every ticket of your teams in any status.",
    )

    def keep(self, queryset, name, value):
        return queryset

    @property
    def qs(self):
        data = self.form.cleaned_data
        user = self.request.user
        team_id = None
        if data.get("team"):
            team_id = Team.objects.filter(name=data["team"]).values_list("id", flat=True).first()
            if team_id is None:
                return self.queryset.none()
        filters = QueueFilters(
            status=list(data.get("status") or []),
            priority=list(data.get("priority") or []),
            kind=list(data.get("kind") or []),
            channel=list(data.get("channel") or []),
            team=team_id,
            assignee=data.get("assignee") or "",
            tag=data.get("tag") or "",
            sla=data.get("sla") or "",
            q=data.get("q") or "",
            ordering=data.get("ordering") or "next_due_at",
        )
        return ticket_queue(
            user=user, view=data.get("view") or "any", filters=filters, now=timezone.now()
        )
