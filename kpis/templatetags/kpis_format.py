from django import template
from django.utils.translation import gettext as _

from kpis import definitions as d

register = template.Library()


@register.filter
def kpi_value(value, unit: str) -> str:
    """A figure in its unit; an em dash when there is none (no cases is not zero)."""
    if value is None or value == "":
        return "—"
    if unit == d.PERCENT:
        return f"{value:.1f}%"
    if unit == d.MINUTES:
        if value >= 120:
            return _("%(hours).1f h") % {"hours": value / 60}
        return _("%(minutes).1f min") % {"minutes": value}
    if unit == d.HOURS:
        return _("%(hours).1f h") % {"hours": value}
    if unit == d.MONEY:
        return f"¥{value:,.2f}"
    if unit in (d.SCORE, d.RATE):
        return f"{value:.2f}" if unit == d.RATE else f"{value:.1f}"
    return f"{int(value):,}"


@register.filter
def target_class(target) -> str:
    if not target or target["met"] is None:
        return ""
    return "kpi-good" if target["met"] else "kpi-bad"


@register.filter
def label_in(key, labels: dict) -> str:
    """The display label of a stored value (``labels`` maps values to labels)."""
    return labels.get(key, key)
