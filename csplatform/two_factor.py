"""Two-factor sign-in with a TOTP app (django-otp): optional for supervisors and admins,
required for admins where ``OTP_REQUIRED_FOR_ADMINS`` is set (production settings).

A user with a confirmed device types the app's 6-digit code on the sign-in form. Enrolling
shows a QR code and the secret; the device counts once a code from it was accepted.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .roles import ADMIN, SUPERVISOR, role_of

TWO_FACTOR_ROLES = (SUPERVISOR, ADMIN)


def may_use_two_factor(user) -> bool:
    return role_of(user) in TWO_FACTOR_ROLES


def has_two_factor(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


class SignInForm(AuthenticationForm):
    """Username and password, and the authenticator code for users who set one up."""

    otp_token = forms.CharField(
        label=_("Authenticator code"),
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "otp_required": _("Enter the 6-digit code from your authenticator app."),
        "otp_invalid": _("The authenticator code is wrong or expired. Try the current one."),
    }

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and has_two_factor(user):
            token = (cleaned.get("otp_token") or "").strip()
            if not token:
                raise forms.ValidationError(self.error_messages["otp_required"], "otp_required")
            device = match_token(user, token)
            if device is None:
                raise forms.ValidationError(self.error_messages["otp_invalid"], "otp_invalid")
            self.otp_device = device
        return cleaned


class ConfirmDeviceForm(forms.Form):
    token = forms.CharField(label=_("Code from the app"), max_length=8)


def device_pending(user) -> TOTPDevice:
    """The user's unconfirmed device, made on first visit of the enrolment page."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


class TwoFactorRequiredMiddleware:
    """Where admins must use two factors, an admin whose session is not verified can only
    reach the enrolment page and sign out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if getattr(settings, "OTP_REQUIRED_FOR_ADMINS", False):
            user = getattr(request, "user", None)
            if (
                user is not None
                and user.is_authenticated
                and role_of(user) == ADMIN
                and not user.is_verified()
            ):
                allowed = (reverse("two-factor"), reverse("logout"), settings.STATIC_URL)
                if not request.path.startswith(tuple("/" + a.lstrip("/") for a in allowed)):
                    return redirect("two-factor")
        return self.get_response(request)
