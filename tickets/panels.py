"""Panels that the apps built on tickets (complaints, returns) show on the ticket page.

Tickets sits below those apps and may not import them: each registers its panel here from its
``AppConfig.ready()``, and the ticket page asks for the panels of a ticket in their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .models import Ticket


@dataclass(frozen=True)
class Panel:
    """What a panel shows of one ticket: its template, or ``None`` when it has nothing to show,
    and the names the template reads (they join the page's context)."""

    template: str | None
    context: dict = field(default_factory=dict)


PanelFunction = Callable[[Ticket], Panel]

# name -> (position on the page, the function that makes the panel)
_panels: dict[str, tuple[int, PanelFunction]] = {}


def ticket_panel_register(*, name: str, position: int, panel: PanelFunction) -> None:
    """Show ``panel`` on every ticket page, above those of a greater ``position``. Registering
    a name again replaces its panel."""
    _panels[name] = (position, panel)


def ticket_panels(ticket: Ticket) -> list[Panel]:
    """The panels of the ticket, top to bottom; each asks its own queries, a fixed number."""
    ordered = sorted(_panels.items(), key=lambda item: (item[1][0], item[0]))
    return [panel(ticket) for _, (_, panel) in ordered]
