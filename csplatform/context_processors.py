from typing import Any

from django.http import HttpRequest

from .roles import DESK_ROLES, ROLE_LABELS, role_of
from .two_factor import two_factor_required


def roles(request: HttpRequest) -> dict[str, Any]:
    """The signed-in user's role, for the navigation; none of the desk's navigation, bell or
    presence for a user who must set up two-factor sign-in before going anywhere."""
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None else None
    pending = (
        user is not None
        and two_factor_required(user)
        and not getattr(user, "is_verified", lambda: False)()
    )
    return {
        "user_role": role,
        "user_role_label": ROLE_LABELS.get(role, "") if role is not None else "",
        "desk_role": role in DESK_ROLES and not pending,
        "two_factor_pending": pending,
    }
