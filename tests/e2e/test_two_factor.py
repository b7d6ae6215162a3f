"""A supervisor turns on two-factor sign-in in the browser, then signs in with the code."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.e2e.conftest import login
from tests.factories import agent_user, supervisor_user

pytestmark = pytest.mark.django_db(transaction=True)


def code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def test_a_supervisor_sets_up_an_authenticator_and_signs_in_with_its_code(page, screenshot):
    supervisor_user(username="zhou.boss", password="secret-pass-123")
    login(page, "zhou.boss")
    page.click("#nav-two-factor")
    qr = page.locator(".two-factor .qr img")
    qr.wait_for()
    assert page.evaluate("img => img.naturalWidth > 0", qr.element_handle())
    screenshot("two-factor-enrol-en")

    device = TOTPDevice.objects.get(user__username="zhou.boss")
    page.fill("#id_token", code(device))
    page.click("button.primary")
    page.wait_for_selector("text=Two-factor sign-in is on.")

    page.click("button:has-text('Log out')")
    page.fill("#id_username", "zhou.boss")
    page.fill("#id_password", "secret-pass-123")
    page.click("button[type=submit]")
    page.wait_for_selector("text=6-digit code")
    screenshot("two-factor-code-asked-en")
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        next_code = code(device)
    page.fill("#id_password", "secret-pass-123")
    page.fill("#id_otp_token", next_code)
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        page.click("button[type=submit]")
        page.wait_for_url("**/desk/**")


def test_where_required_an_agent_sets_up_an_authenticator_right_after_the_password(
    page, screenshot, settings
):
    settings.OTP_REQUIRED_FOR_STAFF = True  # as in production
    agent_user(username="li.agent", password="secret-pass-123")
    login(page, "li.agent")
    page.wait_for_url("**/account/two-factor/")
    page.wait_for_selector("#two-factor-required")
    assert page.locator(".mainnav, .bell").count() == 0
    screenshot("two-factor-required-agent-en")

    page.goto("/desk/")  # nothing else before the authenticator is set up
    page.wait_for_url("**/account/two-factor/")
    device = TOTPDevice.objects.get(user__username="li.agent")
    page.fill("#id_token", code(device))
    page.click("button.primary")
    page.wait_for_url("**/desk/**")
    page.wait_for_selector("text=Two-factor sign-in is on.")
    screenshot("two-factor-required-agent-done-en")

    page.click("#nav-two-factor")
    page.wait_for_selector("text=it cannot be turned off")
    assert page.locator("button:has-text('Turn off')").count() == 0
