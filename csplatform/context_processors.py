from .roles import DESK_ROLES, ROLE_LABELS, role_of


def roles(request):
    """The signed-in user's role, for the navigation."""
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None else None
    return {
        "user_role": role,
        "user_role_label": ROLE_LABELS.get(role, ""),
        "desk_role": role in DESK_ROLES,
    }
