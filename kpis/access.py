"""Who sees the KPIs, and which teams' figures."""

from __future__ import annotations

from csplatform.roles import ADMIN, ANALYST, SUPERVISOR, role_of
from tickets.access import team_ids_for

# The roles that open the dashboard, the live monitor, the API and the exports.
KPI_ROLES = (SUPERVISOR, ADMIN, ANALYST)


def can_view_kpis(user) -> bool:
    return role_of(user) in KPI_ROLES


def kpi_team_scope(user) -> tuple[int, ...] | None:
    """The teams whose figures the user sees; ``None``: every team (admins, analysts)."""
    if role_of(user) == ANALYST:
        return None
    team_ids = team_ids_for(user)
    return None if team_ids is None else tuple(team_ids)
