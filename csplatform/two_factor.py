"""Two-factor sign-in with a TOTP app (django-otp).

Every signed-in user may set up an authenticator. ``OTP_REQUIRED_FOR_STAFF`` (on in production)
requires one of every user who signs in: the agent, supervisor, admin and analyst roles, and
anyone else the admin site would let in; the older ``OTP_REQUIRED_FOR_ADMINS`` of admins alone.
Where it is required, a user without one is sent to set it up right after the password and can
reach nothing else until a code from it was accepted.

A user with a confirmed device types the app's 6-digit code on the sign-in form, and sends it
with the password for an API token (``csplatform/api/token.py``). Enrolling shows a QR code and
the secret; the device counts once a code from it was accepted, and the user's API tokens, got
with the password alone, end then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, match_token
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from .roles import ADMIN, role_of

REFUSALS = {
    "otp_required": _("Enter the 6-digit code from your authenticator app."),
    "otp_invalid": _("The authenticator code is wrong or expired. Try the current one."),
    "otp_not_set_up": _(
        "Two-factor sign-in is required: set up an authenticator app on the desk's Two-factor"
        " page first, then send its code with your password."
    ),
}


class SecondFactorRefused(Exception):
    """The password was right, the second factor missing or wrong; ``code`` keys REFUSALS."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
        self.message = REFUSALS[code]


def two_factor_required(user: User | AnonymousUser) -> bool:
    """Must this user sign in with a second factor? The settings are read first, so that where
    nothing is required no request loads its user for this."""
    if settings.OTP_REQUIRED_FOR_STAFF:
        return user.is_authenticated
    if settings.OTP_REQUIRED_FOR_ADMINS:
        return role_of(user) == ADMIN
    return False


def has_two_factor(user: User) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def second_factor_verify(
    user: User, token: str | None, *, enrolled_only: bool = True
) -> Device | None:
    """Check the second factor of a user whose password was right: the device that accepted
    ``token``, or None for a user without one. A user without one is refused too where two
    factors are required and ``enrolled_only`` is false (the API: it cannot enrol anyone, while
    the sign-in form lets the user in to enrol and nowhere else)."""
    if not has_two_factor(user):
        if not enrolled_only and two_factor_required(user):
            raise SecondFactorRefused("otp_not_set_up")
        return None
    token = (token or "").strip()
    if not token:
        raise SecondFactorRefused("otp_required")
    device = match_token(user, token)
    if device is None:
        raise SecondFactorRefused("otp_invalid")
    return device


# The user model's username length; nothing longer is ever a user.
USERNAME_MAX_LENGTH = 150


class SignInForm(AuthenticationForm):
    """Username and password, and the authenticator code for users who set one up."""

    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_username(self) -> str:
        # Django sets the username's max_length on the widget only, so a longer name reached
        # authenticate() and django-axes' varchar(255) record of the failure (a 500).
        username = self.cleaned_data["username"]
        if len(username) > USERNAME_MAX_LENGTH:
            raise forms.ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )
        return username

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is not None:
            try:
                self.otp_device = second_factor_verify(user, cleaned.get("otp_token"))
            except SecondFactorRefused as refusal:
                raise forms.ValidationError(refusal.message, refusal.code) from None
        return cleaned


class ConfirmDeviceForm(forms.Form):
    token = forms.CharField(label=_("Code from the app"), max_length=8)


def device_pending(user: User) -> TOTPDevice:
    """The user's unconfirmed device, made on first visit of the enrolment page."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def device_confirm(request: HttpRequest, device: TOTPDevice) -> None:
    """The device counts from now on, and so does this session as signed in with it. The
    user's API tokens were got with the password alone: they end, and a new one needs a code."""
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        Token.objects.filter(user=device.user).delete()
    otp_login(request, device)


class TwoFactorRequiredMiddleware:
    """Where two factors are required, a signed-in user whose session is not verified reaches
    only the enrolment page and sign-out. One without an authenticator is sent to set one up;
    one with an authenticator (a session from before the requirement) signs in again with it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and two_factor_required(user) and not user.is_verified():
            allowed = (
                reverse("two-factor"),
                reverse("logout"),
                reverse("set_language"),
                settings.STATIC_URL,
            )
            if not request.path.startswith(tuple("/" + a.lstrip("/") for a in allowed)):
                if has_two_factor(user):
                    logout(request)
                    return redirect_to_login(request.get_full_path())
                return redirect("two-factor")
        return self.get_response(request)
