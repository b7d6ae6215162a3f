"""The desk's ticket display helpers: labels of stored values, the SLA badge, presence."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from orders.choices import ExceptionOutcome, ExceptionType
from orders.templatetags.orders_labels import notice_summary
from tickets.choices import Presence, Priority, SlaMetric, TicketEventType, TicketKind, TicketStatus
from tickets.selectors import sla_state

register = template.Library()

# Event types whose old/new values are stored codes with a translated label.
_LABELLED_EVENTS = {
    TicketEventType.CREATED: dict(TicketStatus.choices),
    TicketEventType.STATUS: dict(TicketStatus.choices),
    TicketEventType.REOPENED: dict(TicketStatus.choices),
    TicketEventType.PRIORITY: dict(Priority.choices),
    TicketEventType.KIND: dict(TicketKind.choices),
    TicketEventType.MILESTONE: dict(SlaMetric.choices),
    TicketEventType.EXCEPTION_RESOLVED: {
        **dict(ExceptionType.choices),
        **dict(ExceptionOutcome.choices),
    },
}


@register.filter
def event_change(event) -> str:
    """``old → new`` of a timeline event, with labels instead of stored codes; for a notice
    sent to the customer, which notice and through which channels."""
    if event.type == TicketEventType.CUSTOMER_NOTIFIED:
        return notice_summary(event.payload)
    labels = _LABELLED_EVENTS.get(event.type, {})
    old = labels.get(event.old_value, event.old_value)
    new = labels.get(event.new_value, event.new_value)
    if old and new:
        return f"{old} → {new}"
    if old:
        return f"{old} → —"
    return str(new)


def countdown(left: timedelta) -> str:
    """``12m``, ``2h 05m``, ``3d 04h``; negative when past (``-3m``). Same rule as desk.js."""
    seconds = left.total_seconds()
    minutes = math.floor(seconds / 60) if seconds >= 0 else -math.ceil(-seconds / 60)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    if minutes < 60:
        return f"{sign}{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours:02d}h"


@register.simple_tag
def sla_badge(ticket, now: datetime) -> str:
    """The row's SLA countdown; desk.js keeps it ticking and recolours it at ``data-warn``."""
    state = sla_state(ticket, now)
    if not state:
        return format_html('<span class="{}">—</span>', "sla sla-none")
    due = ticket.next_due_at
    title = _("Due %(time)s") % {"time": date_format(timezone.localtime(due), "Y-m-d H:i")}
    return format_html(
        '<span class="sla sla-{}" data-due="{}" data-warn="{}" title="{}">{}</span>',
        state,
        due.isoformat(),
        (ticket.next_warn_at or due).isoformat(),
        title,
        countdown(due - now),
    )


@register.inclusion_tag("tickets/partials/presence.html", takes_context=True)
def presence_switch(context) -> dict:
    """The top bar's online/away/offline switch of the signed-in desk user."""
    user = context["user"]
    # One query for the profile: the reverse one-to-one is not loaded with the user.
    profile = getattr(user, "agent_profile", None) if user.is_authenticated else None
    return {
        "presence": profile.presence if profile else Presence.OFFLINE,
        "choices": Presence.choices,
        "next_url": request.get_full_path() if (request := context.get("request")) else "",
        "csrf_token": context.get("csrf_token"),
    }


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@register.filter
def person(user) -> str:
    """A desk user's name as colleagues read it: the full name, else the username.

    Chinese names read family name first without a space (李娜), which ``get_full_name`` does
    not do ("娜 李").
    """
    if user is None:
        return ""
    first, last = user.first_name.strip(), user.last_name.strip()
    if _is_cjk(first + last):
        return f"{last}{first}"
    return user.get_full_name() or user.get_username()


@register.filter
def first_filter(query, name: str) -> str:
    """The value a single-choice select shows for one of the queue's multi-valued filters."""
    return query.first(name)


@register.filter
def iso_time(value: str):
    """A moment stored as ISO text (a ticket's milestones) as an aware datetime, or None."""
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


@register.filter
def deliveries_of(deliveries: dict, message_id: int) -> list:
    """The deliveries of one message, from the page's ``message_deliveries``."""
    return deliveries.get(message_id, []) if deliveries else []
