"""Session lifetime: 30 minutes without a request (``SESSION_IDLE_SECONDS``) and 12 hours
from sign-in whatever the activity (``SESSION_ABSOLUTE_SECONDS``).

The last activity is written to the session at most once a minute, so that an ordinary
request reads the session and writes nothing.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login

SIGNED_IN_AT = "_signed_in_at"
LAST_SEEN = "_last_seen"
LAST_SEEN_RESOLUTION = 60


class SessionLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            session = request.session
            signed_in_at = session.get(SIGNED_IN_AT) or now
            last_seen = session.get(LAST_SEEN) or now
            idle = now - last_seen > settings.SESSION_IDLE_SECONDS
            if idle or now - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)  # the API answers 401/403 itself
                return redirect_to_login(request.get_full_path())
            if SIGNED_IN_AT not in session:
                session[SIGNED_IN_AT] = signed_in_at
            if now - last_seen >= LAST_SEEN_RESOLUTION or LAST_SEEN not in session:
                session[LAST_SEEN] = now
        return self.get_response(request)


def session_mark_sign_in(sender, request, user, **kwargs) -> None:
    """Connected to ``user_logged_in``: the 12 hours and the 30 idle minutes start now."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = request.session[LAST_SEEN] = time.time()
