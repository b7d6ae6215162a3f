from .roles import role_of


def roles(request):
    """The signed-in user's role, for the navigation."""
    user = getattr(request, "user", None)
    return {"user_role": role_of(user) if user is not None else None}
