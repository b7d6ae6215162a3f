"""Session lifetime: 30 minutes without a request (``SESSION_IDLE_SECONDS``) and 12 hours
from sign-in whatever the activity (``SESSION_ABSOLUTE_SECONDS``).

The last activity is written to the session at most once a minute, so that an ordinary
request reads the session and writes nothing.

Background polls (the live monitor, the queue rows, the notification bell) are not activity:
desk.js sends ``X-Background-Poll: 1`` with the timed requests of an element marked
``data-background-poll``. Such a request is checked against both limits but does not move the
last activity, so a desk left open still goes idle after 30 minutes.

An htmx request that finds the session over (or no session at all) is answered 401 with an
``HX-Redirect`` to the sign-in page: the browser goes there instead of swapping the sign-in
form into a tile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url

GetResponse = Callable[[HttpRequest], HttpResponse]

SIGNED_IN_AT = "_signed_in_at"
LAST_SEEN = "_last_seen"
LAST_SEEN_RESOLUTION = 60
BACKGROUND_POLL_HEADER = "X-Background-Poll"


def is_background_poll(request: HttpRequest) -> bool:
    return request.headers.get(BACKGROUND_POLL_HEADER) == "1"


def _is_htmx(request: HttpRequest) -> bool:
    # Read the header: HtmxMiddleware runs after this middleware.
    return request.headers.get("HX-Request") == "true"


def _page_path(request: HttpRequest) -> str:
    """The page the browser shows (not the fragment's URL), as a local path for ``next``."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.path.startswith("/") and not current.path.startswith("//"):
        return current.path + (f"?{current.query}" if current.query else "")
    return "/"


def _login_redirect_for_htmx(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(status=401)
    response["HX-Redirect"] = redirect_to_login(_page_path(request))["Location"]
    return response


def _is_login_redirect(response: HttpResponse) -> bool:
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    return urlsplit(response.get("Location", "")).path == resolve_url(settings.LOGIN_URL)


class SessionLifetimeMiddleware:
    def __init__(self, get_response: GetResponse):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
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
                if _is_htmx(request):
                    return _login_redirect_for_htmx(request)
                return redirect_to_login(request.get_full_path())
            if SIGNED_IN_AT not in session:
                session[SIGNED_IN_AT] = signed_in_at
            if LAST_SEEN not in session or (
                now - last_seen >= LAST_SEEN_RESOLUTION and not is_background_poll(request)
            ):
                session[LAST_SEEN] = now
        response = self.get_response(request)
        if _is_htmx(request) and _is_login_redirect(response):
            # A desk fragment asked for by a signed-out browser (another tab ended the session).
            return _login_redirect_for_htmx(request)
        return response


def session_mark_sign_in(
    sender: object, request: HttpRequest | None, user: object, **kwargs: Any
) -> None:
    """Connected to ``user_logged_in``: the 12 hours and the 30 idle minutes start now."""
    if request is not None and hasattr(request, "session"):
        request.session[SIGNED_IN_AT] = request.session[LAST_SEEN] = time.time()


# --- The API's error shape for errors raised outside DRF's views -------------------------------

API_PREFIX = "/api/"
_STATUS_CODES = {
    400: ("bad_request", "The request could not be read."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("request_too_large", "The request body is larger than the server accepts."),
    500: ("server_error", "The server could not answer this request; it has been logged."),
}


class ApiErrorBodyMiddleware:
    """Every 4xx and 5xx answer under ``/api/`` is JSON ``{"code", "detail"}``.

    DRF's views answer their own errors in that shape; what fails outside them (a body over
    Django's size limit read by a middleware, a URL that matches nothing, an exception that
    reaches Django's handler) would be an HTML page, and with ``DEBUG`` the debug page with
    settings, local variables and the request's data. Those are replaced here.
    """

    def __init__(self, get_response: GetResponse):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        status = response.status_code
        if status == 400 and _body_too_large(request):
            status = 413
        code, detail = _STATUS_CODES.get(status, _STATUS_CODES[500 if status >= 500 else 400])
        replaced = JsonResponse({"code": code, "detail": detail}, status=status)
        for header in ("Retry-After", "Allow", "WWW-Authenticate"):
            if header in response:
                replaced[header] = response[header]
        return replaced


def _body_too_large(request: HttpRequest) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return limit is not None and length > limit
