"""Display labels for the raw values that timelines store (statuses, exception types)."""

from django import template

from orders.choices import ExceptionOutcome, ExceptionType, OrderStatus, ShipmentStatus

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
