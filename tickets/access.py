"""Who may see and do what with tickets: team scope and role."""

from __future__ import annotations

from django.db.models import QuerySet

from csplatform.roles import ADMIN, DESK_ROLES, SUPERVISOR, role_of

from .models import Team, Ticket


def team_ids_for(user) -> list[int] | None:
    """The teams whose tickets the user sees; ``None`` means every team (admins)."""
    role = role_of(user)
    if role == ADMIN:
        return None
    if role not in DESK_ROLES:  # nobody, or an analyst: no tickets
        return []
    member = set(Team.objects.filter(members=user).values_list("id", flat=True))
    if role == SUPERVISOR:
        member |= set(Team.objects.filter(supervisor=user).values_list("id", flat=True))
    return sorted(member)


def tickets_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = Ticket.objects.all() if queryset is None else queryset
    team_ids = team_ids_for(user)
    return queryset if team_ids is None else queryset.filter(team_id__in=team_ids)


def may_move_ticket(user, ticket: Ticket) -> bool:
    """Taking a ticket out of its team is for a supervisor of that team or the ticket's owner."""
    return is_supervisor_of(user, ticket.team_id) or ticket.assignee_id == user.pk


def is_supervisor_of(user, team_id: int | None) -> bool:
    role = role_of(user)
    if role == ADMIN:
        return True
    if role != SUPERVISOR or team_id is None:
        return False
    team_ids = team_ids_for(user)
    return team_ids is not None and team_id in team_ids
