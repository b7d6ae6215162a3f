import base64
from typing import Any

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from .api_tokens import api_tokens_revoke
from .desk import SignedInRequest
from .health import health
from .roles import ANALYST, role_of
from .two_factor import (
    ConfirmDeviceForm,
    SignInForm,
    device_confirm,
    device_pending,
    has_two_factor,
    two_factor_required,
)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For the container health check and monitors: 200 when the database and the Celery
    broker answer, 503 naming the one that does not."""
    result = health()
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)


@require_GET
def root(request: HttpRequest) -> HttpResponse:
    """Where a signed-in user starts: the KPIs for an analyst, the desk for everyone else."""
    if role_of(request.user) == ANALYST:
        return redirect("kpis:dashboard")
    return redirect("desk:home")


@login_required
def two_factor(request: SignedInRequest) -> HttpResponse:
    """Set up, or turn off where it is not required, the signed-in user's authenticator app."""
    user = request.user
    required = two_factor_required(user)
    error = ""
    if request.method == "POST":
        form = ConfirmDeviceForm(request.POST)
        action = request.POST.get("action", "confirm")
        if form.is_valid():
            token = form.cleaned_data["token"].strip()
            if action == "disable" and has_two_factor(user):
                if required:
                    error = _("Two-factor sign-in is required here: it cannot be turned off.")
                elif match_token(user, token) is not None:
                    TOTPDevice.objects.filter(user=user).delete()
                    messages.success(request, _("Two-factor sign-in is off."))
                    return redirect("two-factor")
                else:
                    error = _("The code is wrong or expired.")
            elif action == "confirm" and not has_two_factor(user):
                device = device_pending(user)
                if device.verify_token(token):
                    device_confirm(request, device)
                    messages.success(request, _("Two-factor sign-in is on."))
                    # Sent here to enrol before anything else: now on to where they start.
                    return redirect("root" if required else "two-factor")
                error = _("The code is wrong or expired.")
        else:
            error = _("Type the 6-digit code from the app.")
    enabled = has_two_factor(user)
    context = {"enabled": enabled, "error": error, "required": required}
    if not enabled:
        device = device_pending(user)
        image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
        svg = image.to_string(encoding="unicode").encode()
        context |= {
            "qr_src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode(),
            "device": device,
        }
        context["secret"] = base64.b32encode(device.bin_key).decode()
    return render(request, "registration/two_factor.html", context, status=400 if error else 200)


@require_GET
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The admin site's own sign-in form knows no second factor: it sends to the desk's."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


class SignOutView(LogoutView):
    """Django's sign-out, which also ends the user's API token."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            api_tokens_revoke(user=request.user)
        return super().post(request, *args, **kwargs)


class SignInView(LoginView):
    """Django's sign-in, with the authenticator code for users who set one up."""

    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        device = getattr(form, "otp_device", None)
        if device is not None:
            otp_login(self.request, device)
        return response
