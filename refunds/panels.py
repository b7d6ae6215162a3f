"""The return panel of the ticket page (registered with ``tickets.panels``)."""

from tickets.models import Ticket
from tickets.panels import Panel

from .selectors import desk_return_panel

POSITION = 20


def ticket_return_panel(ticket: Ticket) -> Panel:
    """The ticket's return, or the form to start one when the ticket has an order."""
    context = desk_return_panel(ticket)
    if context["return_request"] or ticket.order:
        return Panel("refunds/partials/return_panel.html", context)
    return Panel(None, context)
