"""Two-factor sign-in of every staff role where ``OTP_REQUIRED_FOR_STAFF`` says so (production
settings), off in the embedded default; the API token endpoint and the admin site's sign-in are
no way round it. The sign-in form's code and the admins-only setting: test_security.py."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.csplatform.test_security import totp_now
from tests.csplatform.test_settings import production_env, random_secret_key, run
from tests.factories import (
    DEFAULT_PASSWORD,
    admin_user,
    agent_user,
    analyst_user,
    supervisor_user,
)

pytestmark = pytest.mark.django_db

STAFF = {
    "agent": agent_user,
    "supervisor": supervisor_user,
    "admin": admin_user,
    "analyst": analyst_user,
}


@pytest.fixture
def required(settings):
    settings.OTP_REQUIRED_FOR_STAFF = True


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def sign_in(client, username: str, **extra):
    return client.post("/login/", {"username": username, "password": DEFAULT_PASSWORD, **extra})


def obtain_token(api: APIClient, username: str, password: str = DEFAULT_PASSWORD, **extra):
    body = {"username": username, "password": password, **extra}
    return api.post("/api/v1/auth/token/", body, format="json")


def later(seconds: int = 31):
    """The authenticator's next code: a code is accepted once, and a wrong one throttles."""
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds))


# --- Settings ----------------------------------------------------------------------------------


def two_factor_settings(module: str, **variables: str) -> list[str]:
    env = production_env(
        DJANGO_SETTINGS_MODULE=module,
        SECRET_KEY=random_secret_key(),
        ALLOWED_HOSTS="example.com",
        **variables,
    )
    code = f"import {module} as s; print(s.OTP_REQUIRED_FOR_STAFF, s.OTP_REQUIRED_FOR_ADMINS)"
    result = run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_embedded_default_requires_no_second_factor():
    assert two_factor_settings("csplatform.settings.base") == ["False", "False"]


def test_production_requires_a_second_factor_of_every_staff_role():
    assert two_factor_settings("csplatform.settings.production") == ["True", "True"]


def test_a_deployment_may_turn_off_the_staff_requirement_but_admins_keep_theirs():
    production = "csplatform.settings.production"
    assert two_factor_settings(production, OTP_REQUIRED_FOR_STAFF="false") == ["False", "True"]


def test_the_older_admins_only_setting_is_still_read_from_the_environment():
    base = "csplatform.settings.base"
    assert two_factor_settings(base, OTP_REQUIRED_FOR_ADMINS="true") == ["False", "True"]


# --- Embedded default: nothing required ----------------------------------------------------------


def test_in_the_embedded_default_an_agent_signs_in_and_gets_a_token_with_the_password(client, api):
    agent_user(username="li.na")
    assert sign_in(client, "li.na")["Location"] == "/"
    assert client.get("/desk/").status_code == 200
    assert obtain_token(api, "li.na").status_code == 200


# --- Where required: every role enrols after the password, and does nothing else before --------


@pytest.mark.parametrize("role", STAFF)
def test_where_required_every_role_without_an_authenticator_must_set_one_up_after_the_password(
    client, required, role
):
    STAFF[role](username="new.staff")

    assert sign_in(client, "new.staff").status_code == 302
    for path in ("/", "/desk/", "/desk/orders/", "/kpis/", "/admin/", "/api/v1/tickets/"):
        assert client.get(path)["Location"] == "/account/two-factor/", path
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    assert b'id="two-factor-required"' in page.content
    assert b'src="data:image/svg+xml;base64,' in page.content
    # No navigation, bell or presence switch that would lead (or poll) nowhere meanwhile.
    assert b'class="mainnav"' not in page.content
    assert b'class="bell"' not in page.content


def test_while_setting_up_the_authenticator_the_language_may_be_switched(client, required):
    agent_user(username="li.na")
    sign_in(client, "li.na")

    to_chinese = {"language": "zh-hans", "next": "/account/two-factor/"}
    assert client.post("/i18n/setlang/", to_chinese)["Location"] == "/account/two-factor/"
    assert "此处必须使用双重验证登录" in client.get("/account/two-factor/").content.decode()


def test_an_agent_who_set_up_the_authenticator_goes_on_to_the_desk_and_cannot_turn_it_off(
    client, required
):
    agent_user(username="new.agent")
    sign_in(client, "new.agent")
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user__username="new.agent", confirmed=False)

    turn_on = {"action": "confirm", "token": totp_now(device)}
    confirmed = client.post("/account/two-factor/", turn_on)

    assert confirmed["Location"] == "/"
    assert client.get("/desk/").status_code == 200  # this session is verified now
    with later():
        turn_off = {"action": "disable", "token": totp_now(device)}
        refused = client.post("/account/two-factor/", turn_off)
    assert refused.status_code == 400
    assert b"cannot be turned off" in refused.content
    assert TOTPDevice.objects.filter(user__username="new.agent", confirmed=True).exists()


def test_where_required_an_agent_with_an_authenticator_signs_in_with_its_code(client, required):
    device = confirmed_device(agent_user(username="li.na"))

    without_code = sign_in(client, "li.na")
    assert without_code.status_code == 200
    assert b"6-digit code" in without_code.content
    assert "_auth_user_id" not in client.session
    assert sign_in(client, "li.na", otp_token=totp_now(device)).status_code == 302
    assert client.get("/desk/").status_code == 200


def test_where_required_a_session_without_the_code_of_an_existing_authenticator_signs_in_again(
    client, required
):
    user = agent_user(username="li.na")
    confirmed_device(user)
    client.force_login(user)  # signed in before two factors were required

    response = client.get("/desk/orders/")

    assert response["Location"] == "/login/?next=/desk/orders/"
    assert "_auth_user_id" not in client.session


def test_the_admin_sites_own_sign_in_form_sends_to_the_desks_which_asks_for_the_code(client):
    root = admin_user(username="root", is_staff=True)
    confirmed_device(root)

    assert client.get("/admin/")["Location"] == "/admin/login/?next=/admin/"
    form = client.get("/admin/login/?next=/admin/")
    assert form["Location"] == "/login/?next=/admin/"
    posted = client.post("/admin/login/", {"username": "root", "password": DEFAULT_PASSWORD})
    assert posted.status_code == 405
    assert "_auth_user_id" not in client.session


# --- The API token endpoint --------------------------------------------------------------------


def assert_refused(response, code: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert body["errors"]["otp_token"]
    assert "token" not in body
    assert not Token.objects.exists()


def test_a_user_with_an_authenticator_needs_its_code_for_an_api_token(api):
    device = confirmed_device(supervisor_user(username="boss"))
    right = totp_now(device)

    assert_refused(obtain_token(api, "boss"), "otp_required")
    wrong = "000000" if right != "000000" else "111111"
    assert_refused(obtain_token(api, "boss", otp_token=wrong), "otp_invalid")
    with later():
        response = obtain_token(api, "boss", otp_token=totp_now(device))
    assert response.status_code == 200
    assert response.json()["token"]


def test_where_required_a_user_without_an_authenticator_gets_no_api_token(api, required):
    agent_user(username="li.na")

    assert_refused(obtain_token(api, "li.na"), "otp_not_set_up")
    assert_refused(obtain_token(api, "li.na", otp_token="123456"), "otp_not_set_up")


def test_where_required_an_agent_gets_a_working_token_with_password_and_code(api, required):
    device = confirmed_device(agent_user(username="li.na"))

    token = obtain_token(api, "li.na", otp_token=totp_now(device)).json()["token"]

    assert api.get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


def test_a_wrong_password_is_refused_as_before_whatever_the_code(api, required):
    device = confirmed_device(agent_user(username="li.na"))

    response = obtain_token(api, "li.na", "guess", otp_token=totp_now(device))

    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]


def test_a_token_got_with_the_password_alone_stops_working_where_required_and_on_enrolment(
    client, api, settings
):
    user = agent_user(username="li.na")
    old = obtain_token(api, "li.na").json()["token"]  # before two factors were required
    settings.OTP_REQUIRED_FOR_STAFF = True

    refused = api.get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {old}")
    assert refused.status_code == 401
    assert "Two-factor" in refused.json()["detail"]

    client.force_login(user)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=user)
    client.post("/account/two-factor/", {"action": "confirm", "token": totp_now(device)})
    assert not Token.objects.filter(key=old).exists()
    assert api.get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {old}").status_code == 401
    with later():
        new = obtain_token(api, "li.na", otp_token=totp_now(device)).json()["token"]
    assert api.get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Token {new}").status_code == 200
