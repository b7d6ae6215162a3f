"""Display labels for the raw values that timelines store (statuses, exception types)."""

from django import template
from django.utils.translation import gettext as _

from orders.choices import (
    ExceptionOutcome,
    ExceptionType,
    NoticeChannel,
    OrderStatus,
    ShipmentStatus,
)

register = template.Library()

_LABELS = {
    **dict(OrderStatus.choices),
    **dict(ExceptionType.choices),
    **dict(ExceptionOutcome.choices),
    **dict(ShipmentStatus.choices),
}


@register.filter
def order_label(value: str) -> str:
    """The translated label of an order status, exception type or outcome, shipment status."""
    return _LABELS.get(value, value)


@register.filter
def notice_summary(payload: dict) -> str:
    """A customer-notified event as the timelines show it, "Return approved · E-mail": the
    notice (its stored English label, translated now) and the channels it took."""
    channels = dict(NoticeChannel.choices)
    taken = ", ".join(str(channels.get(c, c)) for c in payload.get("channels", []))
    label = _(payload["label"]) if payload.get("label") else ""
    return " · ".join(part for part in (label, taken) if part)
