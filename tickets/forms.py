"""The desk's forms: queue filters, the reply box, a ticket's fields, bulk changes, presence,
resolving an exception of the ticket's order."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from orders.choices import Channel, ExceptionOutcome
from orders.services import EXCEPTION_NOTE_MAX_LENGTH

from .choices import Presence, Priority, TicketKind, TicketStatus
from .selectors import ORDERINGS, QueueFilters, queue_views_for

QUEUE_VIEW_LABELS = {
    "mine": _("My open"),
    "unassigned": _("Unassigned"),
    "team": _("Team"),
    "breaching_soon": _("Breaching soon"),
    "breached": _("Breached"),
    # The view holds pending and on-hold tickets: not the status label "Pending".
    "pending": pgettext_lazy("queue view", "Pending"),
    "all": _("All"),
}
ORDERING_LABELS = {
    "next_due_at": _("Due soonest"),
    "-next_due_at": _("Due latest"),
    "-created_at": _("Newest"),
    "created_at": _("Oldest"),
    "priority": _("Highest priority"),
    "-priority": _("Lowest priority"),
}
# The status a reply button sets along with the reply; "note" writes an internal note.
REPLY_ACTIONS = {
    "reply": None,
    "reply_pending": TicketStatus.PENDING,
    "reply_solve": TicketStatus.SOLVED,
    "reply_plan": None,  # the reply is the handling plan of an after-sales ticket
    "note": None,
}
# Statuses a person may set by hand: "new" is where tickets start, never a target.
SETTABLE_STATUSES = [(v, label) for v, label in TicketStatus.choices if v != TicketStatus.NEW]
TAG_SEPARATORS = re.compile(r"[,，;；]")
MAX_BULK = 200


def default_view(user) -> str:
    """Agents start on their own tickets; supervisors and admins on their teams' queue."""
    views = queue_views_for(user)
    return "mine" if "all" not in views else "team"


class QueueFilterForm(forms.Form):
    """The queue's query string. Invalid values are dropped, never an error page."""

    view = forms.CharField(required=False)
    status = forms.MultipleChoiceField(choices=TicketStatus.choices, required=False)
    priority = forms.MultipleChoiceField(choices=Priority.choices, required=False)
    kind = forms.MultipleChoiceField(choices=TicketKind.choices, required=False)
    channel = forms.MultipleChoiceField(choices=Channel.choices, required=False)
    tag = forms.CharField(max_length=50, required=False)
    assignee = forms.CharField(max_length=150, required=False)
    q = forms.CharField(max_length=100, required=False)
    ordering = forms.ChoiceField(choices=[(o, o) for o in ORDERINGS], required=False)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)


@dataclass(frozen=True)
class QueueQuery:
    """One queue as the user asked for it: view, filters, page, and its canonical query string."""

    view: str
    filters: QueueFilters
    page: int
    querystring: str  # without the page: what the rows' links carry as ``?queue=``

    @classmethod
    def parse(cls, params: QueryDict, user) -> QueueQuery:
        # PostgreSQL refuses NUL in text; drop it rather than the whole search.
        data = QueryDict(mutable=True)
        for key, values in params.lists():
            data.setlist(key, [v.replace("\x00", "") for v in values])
        form = QueueFilterForm(data)
        form.is_valid()
        clean = form.cleaned_data  # holds only the fields that validated
        view = clean.get("view") or ""
        if view not in queue_views_for(user):
            view = default_view(user)
        filters = QueueFilters(
            status=list(clean.get("status") or []),
            priority=list(clean.get("priority") or []),
            kind=list(clean.get("kind") or []),
            channel=list(clean.get("channel") or []),
            assignee=(clean.get("assignee") or "").strip(),
            tag=(clean.get("tag") or "").strip(),
            q=(clean.get("q") or "").strip(),
            ordering=clean.get("ordering") or "next_due_at",
        )
        canonical = QueryDict(mutable=True)
        canonical["view"] = view
        for name in ("status", "priority", "kind", "channel"):
            if getattr(filters, name):
                canonical.setlist(name, getattr(filters, name))
        for name in ("assignee", "tag", "q"):
            if getattr(filters, name):
                canonical[name] = getattr(filters, name)
        if filters.ordering != "next_due_at":
            canonical["ordering"] = filters.ordering
        return cls(
            view=view,
            filters=filters,
            page=clean.get("page") or 1,
            querystring=canonical.urlencode(),
        )

    @classmethod
    def from_querystring(cls, querystring: str, user) -> QueueQuery:
        return cls.parse(QueryDict(querystring[:2000]), user)

    def first(self, name: str) -> str:
        """The single value the filter bar's select shows for a multi-valued filter."""
        values = getattr(self.filters, name)
        return values[0] if values else ""


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=20000, strip=False)
    action = forms.ChoiceField(choices=[(a, a) for a in REPLY_ACTIONS])

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError(_("Write a message first."))
        return body


class OrderExceptionResolveForm(forms.Form):
    """The outcome and note an agent gives when resolving an exception of the ticket's order."""

    outcome = forms.ChoiceField(
        choices=ExceptionOutcome.choices,
        error_messages={
            "required": _("Choose an outcome."),
            "invalid_choice": _("Choose one of the listed outcomes."),
        },
    )
    note = forms.CharField(required=False, max_length=EXCEPTION_NOTE_MAX_LENGTH)


class TicketFieldsForm(forms.Form):
    """The side panel's editable fields; a field left out keeps its value.

    The page also sends each field's value as it showed it (``was_<field>``): only the fields
    the agent changed are applied, so a stale page does not undo a colleague's change to
    another field.
    """

    FIELDS = ("status", "priority", "kind", "team", "tags")

    status = forms.ChoiceField(choices=TicketStatus.choices, required=False)
    priority = forms.ChoiceField(choices=Priority.choices, required=False)
    kind = forms.ChoiceField(choices=TicketKind.choices, required=False)
    team = forms.IntegerField(min_value=1, required=False)
    tags = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tags_given = "tags" in self.data

    def changed_values(self) -> dict:
        """The cleaned values of the fields sent and changed (all sent ones without ``was_``)."""
        changed = {}
        for name in self.FIELDS:
            if name not in self.data:
                continue
            was = self.data.get(f"was_{name}")
            if was is not None and was == self.data.get(name):
                continue
            changed[name] = self.cleaned_data.get(name)
        return changed

    def clean_tags(self) -> list[str] | None:
        if not self.tags_given:
            return None
        names = [n.strip() for n in TAG_SEPARATORS.split(self.cleaned_data["tags"])]
        names = [n for n in names if n]
        if any(len(n) > 50 for n in names):
            raise forms.ValidationError(_("A tag has at most 50 characters."))
        if len(names) > 20:
            raise forms.ValidationError(_("A ticket has at most 20 tags."))
        return names


class BulkForm(forms.Form):
    # Ticket numbers of the checked rows; unknown or invisible ones are reported per ticket.
    numbers = forms.Field(widget=forms.MultipleHiddenInput, required=False)
    status = forms.ChoiceField(choices=[("", ""), *SETTABLE_STATUSES], required=False)
    priority = forms.ChoiceField(choices=[("", ""), *Priority.choices], required=False)
    assignee = forms.CharField(max_length=150, required=False)

    def clean_numbers(self) -> list[str]:
        numbers = [str(n).strip() for n in self.cleaned_data["numbers"] or [] if str(n).strip()]
        if not numbers:
            raise forms.ValidationError(_("Select at least one ticket."))
        if len(numbers) > MAX_BULK:
            raise forms.ValidationError(
                _("Change at most %(n)s tickets at once.") % {"n": MAX_BULK}
            )
        return numbers

    def clean(self):
        data = super().clean()
        if not (data.get("status") or data.get("priority") or data.get("assignee")):
            raise forms.ValidationError(_("Choose an assignee, a status or a priority to set."))
        return data


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(choices=Presence.choices)
