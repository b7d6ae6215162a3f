"""The complaint panel of the ticket page (registered with ``tickets.panels``)."""

from tickets.choices import TicketStatus
from tickets.models import Ticket
from tickets.panels import Panel

from .selectors import desk_complaint_panel

# Above the return panel: a complaint is what the agent must see first.
POSITION = 10


def ticket_complaint_panel(ticket: Ticket) -> Panel:
    """The ticket's complaint, or the form to file one while the ticket is not closed."""
    context = desk_complaint_panel(ticket)
    if context["complaint"]:
        return Panel("complaints/partials/complaint_panel.html", context)
    if ticket.status != TicketStatus.CLOSED:
        return Panel("complaints/partials/complaint_start.html", context)
    return Panel(None, context)
