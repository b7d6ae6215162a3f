"""Canned replies: the variables they may use, checked when saved and filled when used."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

PLACEHOLDER = re.compile(r"{{\s*([^{}]*?)\s*}}")

VARIABLES = (
    "customer.name",
    "order.number",
    "order.status",
    "shipment.tracking_number",
    "agent.name",
)


def unknown_variables(body: str) -> list[str]:
    return sorted({name for name in PLACEHOLDER.findall(body) if name not in VARIABLES})


def validate_template(body: str) -> None:
    unknown = unknown_variables(body)
    if unknown:
        raise ValidationError(
            {
                "body": _("Unknown variables: %(names)s. Allowed: %(allowed)s.")
                % {"names": ", ".join(unknown), "allowed": ", ".join(VARIABLES)}
            }
        )


def render(body: str, *, ticket, agent) -> str:
    """Fill the variables for this ticket; a value the ticket lacks becomes empty."""
    order = ticket.order
    shipment = order.shipments.order_by("-shipped_at", "-id").first() if order else None
    values = {
        "customer.name": ticket.customer.name,
        "order.number": order.number if order else "",
        "order.status": order.get_status_display() if order else "",
        "shipment.tracking_number": shipment.tracking_number if shipment else "",
        "agent.name": agent.get_full_name() or agent.get_username(),
    }
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), body)
