"""Template filters of the complaint pages: labels instead of stored codes, masked names."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from complaints.choices import (
    ClosedAs,
    ComplaintCategory,
    ComplaintEventType,
    ComplaintStatus,
    Confirmation,
    EscalationLevel,
    RemedyType,
    ResponsibleParty,
    Severity,
)
from csplatform.privacy import mask_name

register = template.Library()

_FIELD_LABELS = {
    "status": dict(ComplaintStatus.choices),
    "category": dict(ComplaintCategory.choices),
    "severity": dict(Severity.choices),
    "escalation_level": {str(v): label for v, label in EscalationLevel.choices},
    "responsible_party": dict(ResponsibleParty.choices),
    "remedy_type": dict(RemedyType.choices),
    "confirmation": dict(Confirmation.choices),
}
_EVENT_LABELS = dict(ComplaintEventType.choices)
_SEVERITY_REASONS = {
    "privacy": _("privacy"),
    "safety": _("safety"),
    "legal_threat": _("legal threat"),
    "nth_complaint": _("repeated complaints within the window"),
    "vip": _("VIP customer"),
    "amount_above_limit": _("amount above the limit"),
    "repeat": _("repeat complaint"),
}
SEVERITY_CLASS = {
    Severity.MINOR: "pr-normal",
    Severity.MAJOR: "pr-high",
    Severity.CRITICAL: "pr-urgent",
}


@register.filter
def complaint_event_label(event) -> str:
    return str(_EVENT_LABELS.get(event.type, event.type))


@register.filter
def complaint_event_change(event) -> str:
    """``old → new`` with labels; a note's text is shown as its reason, not here."""
    if event.type in (ComplaintEventType.NOTE, ComplaintEventType.RECEIVED):
        return ""
    labels = _FIELD_LABELS.get(event.field, {})
    old = str(labels.get(event.old_value, event.old_value))
    new = str(labels.get(event.new_value, event.new_value))
    if old and new:
        return f"{old} → {new}"
    return new or old


@register.filter
def severity_class(severity: str) -> str:
    return SEVERITY_CLASS.get(severity, "")


@register.filter
def severity_reasons(reasons) -> str:
    return ", ".join(str(_SEVERITY_REASONS.get(r, r)) for r in reasons or [])


@register.filter
def level_label(level) -> str:
    try:
        return str(EscalationLevel(int(level)).label)
    except (TypeError, ValueError):
        return ""


@register.filter
def closed_as_label(value: str) -> str:
    return str(dict(ClosedAs.choices).get(value, value))


@register.filter
def masked_name(name: str) -> str:
    return mask_name(name)
