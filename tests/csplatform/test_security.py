"""Hardening: key scopes, expiry and last use; throttling; sign-in lockout; session lifetime;
the Content Security Policy; the audit of configuration changes."""

import json
import time
from datetime import timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from csplatform.middleware import LAST_SEEN, SIGNED_IN_AT
from csplatform.models import ApiKeyProfile
from tests.factories import (
    DEFAULT_PASSWORD,
    OrderFactory,
    admin_user,
    agent_user,
    api_key_header,
    storefront_api_key,
)
from tickets.models import SlaPolicy

pytestmark = pytest.mark.django_db


def get_order(key: str, number: str):
    return APIClient().get(f"/api/v1/orders/{number}/", **api_key_header(key))


# --- Storefront keys ----------------------------------------------------------------------------


def test_a_key_reaches_only_the_parts_of_the_api_its_scopes_name():
    order = OrderFactory()
    _, key = storefront_api_key(scopes=["orders"])
    api = APIClient()

    assert get_order(key, order.number).status_code == 200
    refused = api.get("/api/v1/tickets/", **api_key_header(key))
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    refused = api.get("/api/v1/returns/", **api_key_header(key))
    assert refused.status_code == 403


def test_a_key_without_scopes_can_do_nothing():
    order = OrderFactory()
    api_key, key = storefront_api_key(scopes=[])
    assert get_order(key, order.number).status_code == 403
    ApiKeyProfile.objects.filter(api_key=api_key).delete()
    assert get_order(key, order.number).status_code == 403


def test_an_unknown_scope_is_refused_when_the_key_is_made():
    with pytest.raises(ValidationError, match="Unknown scope"):
        storefront_api_key(scopes=["orders", "money"])


def test_an_expired_or_revoked_key_is_not_accepted():
    order = OrderFactory()
    _, expired_key = storefront_api_key(expiry_date=timezone.now() - timedelta(seconds=1))
    revoked, revoked_key = storefront_api_key(name="old shop")
    revoked.revoked = True
    revoked.save()
    assert get_order(expired_key, order.number).status_code == 401
    assert get_order(revoked_key, order.number).status_code == 401


def test_a_key_records_when_it_was_last_used_at_most_once_a_minute():
    order = OrderFactory()
    api_key, key = storefront_api_key()
    assert api_key.profile.last_used_at is None

    get_order(key, order.number)
    first = ApiKeyProfile.objects.get(api_key=api_key).last_used_at
    assert first is not None
    assert timezone.now() - first < timedelta(seconds=5)

    get_order(key, order.number)
    assert ApiKeyProfile.objects.get(api_key=api_key).last_used_at == first


# --- Throttling ---------------------------------------------------------------------------------


def rates(**rates):
    from django.conf import settings

    return override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    )


def test_a_storefront_key_over_its_rate_gets_429_with_retry_after_and_others_do_not():
    from django.core.cache import cache

    cache.clear()
    order = OrderFactory()
    _, busy = storefront_api_key(name="busy shop")
    _, calm = storefront_api_key(name="calm shop")
    with rates(storefront="3/min", desk=None, anonymous=None):
        answers = [get_order(busy, order.number).status_code for _ in range(4)]
        throttled = get_order(busy, order.number)
        other = get_order(calm, order.number)

    assert answers == [200, 200, 200, 429]
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert other.status_code == 200


def test_anonymous_survey_requests_are_counted_per_address():
    from django.core.cache import cache

    cache.clear()
    api = APIClient()
    with rates(storefront=None, desk=None, anonymous="2/min"):
        first = [
            api.get("/api/v1/surveys/unknown-token/", REMOTE_ADDR="10.0.0.1").status_code
            for _ in range(3)
        ]
        elsewhere = api.get("/api/v1/surveys/unknown-token/", REMOTE_ADDR="10.0.0.2")

    assert first == [404, 404, 429]
    assert elsewhere.status_code == 404


# --- Sign-in ------------------------------------------------------------------------------------


@override_settings(AXES_ENABLED=True)
def test_ten_failed_sign_ins_lock_that_username_from_that_address_for_15_minutes(client):
    from axes.utils import reset

    reset()
    agent_user(username="li.na")
    for _ in range(10):
        failed = client.post(
            "/login/", {"username": "li.na", "password": "wrong"}, REMOTE_ADDR="10.1.1.1"
        )
        assert failed.status_code in (200, 429)
    locked = client.post(
        "/login/", {"username": "li.na", "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.1.1.1"
    )
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session

    from django.test import Client

    other_place = Client().post(
        "/login/", {"username": "li.na", "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.1.1.2"
    )
    assert other_place.status_code == 302  # signed in from another address


@override_settings(AXES_ENABLED=True)
def test_nine_failures_then_the_right_password_signs_in(client):
    from axes.utils import reset

    reset()
    agent_user(username="wang.fang")
    for _ in range(9):
        client.post("/login/", {"username": "wang.fang", "password": "x"}, REMOTE_ADDR="10.2.2.2")
    signed_in = client.post(
        "/login/", {"username": "wang.fang", "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.2.2.2"
    )
    assert signed_in.status_code == 302


def test_weak_passwords_are_refused():
    user = agent_user(username="zhao.lei")
    for weak in ("12345678", "password", "zhao.lei1", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)


# --- Sessions -----------------------------------------------------------------------------------


def test_a_session_ends_after_30_idle_minutes(client):
    client.force_login(agent_user())
    session = client.session
    session[LAST_SEEN] = time.time() - 29 * 60
    session.save()
    assert client.get("/desk/").status_code == 200  # 29 minutes: still signed in, renewed
    assert time.time() - client.session[LAST_SEEN] < 5

    session = client.session
    session[LAST_SEEN] = time.time() - 30 * 60 - 1
    session.save()
    response = client.get("/desk/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert client.get("/desk/").status_code == 302


def test_a_busy_session_is_written_at_most_once_a_minute(client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(agent_user())
    client.get("/desk/")
    with CaptureQueriesContext(connection) as queries:
        client.get("/desk/")
    assert not [q for q in queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]


def test_a_session_ends_12_hours_after_sign_in_however_busy(client):
    client.force_login(agent_user())
    assert client.get("/desk/").status_code == 200
    session = client.session
    session[SIGNED_IN_AT] = time.time() - 12 * 60 * 60 - 1
    session.save()

    response = client.get("/desk/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert client.get("/desk/").status_code == 302  # signed out for good


def test_signing_in_starts_the_12_hours_afresh(client):
    agent_user(username="sun.li")
    client.post("/login/", {"username": "sun.li", "password": DEFAULT_PASSWORD})
    assert time.time() - client.session[SIGNED_IN_AT] < 5


# --- Headers ------------------------------------------------------------------------------------


def test_the_desk_is_served_under_a_policy_that_forbids_inline_script(client):
    client.force_login(agent_user())
    response = client.get("/desk/")
    policy = response["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_api_docs_load_swagger_from_our_own_origin_without_inline_script(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html
    assert "<script>" not in html.replace(" ", "")


# --- Audit --------------------------------------------------------------------------------------


def test_a_change_to_an_sla_policy_in_admin_is_audited_with_who_and_what(client):
    admin = admin_user(username="root.admin")
    client.force_login(admin)
    policy = SlaPolicy.objects.get(name="Default")
    policy.name = "Default (tightened)"
    from auditlog.context import set_actor

    with set_actor(admin):
        policy.save()

    entry = LogEntry.objects.get_for_object(policy).latest("timestamp")
    assert entry.actor == admin
    assert entry.changes_dict["name"] == ["Default", "Default (tightened)"]


def test_a_new_storefront_key_and_its_scopes_are_audited():
    api_key, _ = storefront_api_key(name="new shop", scopes=["orders"])
    assert LogEntry.objects.get_for_object(api_key).filter(action=LogEntry.Action.CREATE).exists()
    entry = LogEntry.objects.get_for_object(api_key.profile).get()
    assert "hashed_key" not in str(LogEntry.objects.get_for_object(api_key).get().changes)
    assert json.loads(entry.changes_dict["scopes"][1]) == ["orders"]


# --- Two-factor sign-in -------------------------------------------------------------------------


def totp_now(device) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def enrol(client, user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    page = client.get("/account/two-factor/")
    assert page.status_code == 200
    assert b'src="data:image/svg+xml;base64,' in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    confirmed = client.post(
        "/account/two-factor/", {"action": "confirm", "token": totp_now(device)}
    )
    assert confirmed.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    client.logout()
    return device


def test_a_supervisor_who_set_up_an_authenticator_needs_its_code_to_sign_in(client):
    from tests.factories import supervisor_user

    boss = supervisor_user(username="boss.two")
    device = enrol(client, boss)
    credentials = {"username": "boss.two", "password": DEFAULT_PASSWORD}

    without_code = client.post("/login/", credentials)
    assert without_code.status_code == 200
    assert b"6-digit code" in without_code.content
    wrong = client.post("/login/", {**credentials, "otp_token": "000000"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    with time_machine.travel(timezone.now() + timedelta(seconds=31)):  # the app's next code
        right = client.post("/login/", {**credentials, "otp_token": totp_now(device)})
    assert right.status_code == 302
    assert client.session.get("otp_device_id")


def test_where_not_required_an_agent_signs_in_without_a_code_and_may_enrol(client):
    agent_user(username="plain.agent")
    signed_in = client.post("/login/", {"username": "plain.agent", "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 302
    assert client.get("/desk/").status_code == 200
    assert client.get("/account/two-factor/").status_code == 200


@override_settings(OTP_REQUIRED_FOR_ADMINS=True)
def test_where_required_an_admin_without_a_second_factor_can_only_set_one_up(client):
    root = admin_user(username="root.two")
    client.force_login(root)
    assert client.get("/desk/")["Location"] == "/account/two-factor/"
    assert client.get("/admin/")["Location"] == "/account/two-factor/"

    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user=root)
    client.post("/account/two-factor/", {"action": "confirm", "token": totp_now(device)})

    assert client.get("/desk/").status_code == 200  # this session is verified now
    refused = client.post("/account/two-factor/", {"action": "disable", "token": totp_now(device)})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=root, confirmed=True).exists()


def test_create_api_key_gives_the_scopes_asked_for_and_refuses_unknown_ones():
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = StringIO()
    call_command("create_api_key", "live shop", "--scopes", "orders,returns", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    order = OrderFactory()
    assert get_order(key, order.number).status_code == 200
    assert APIClient().get("/api/v1/tickets/", **api_key_header(key)).status_code == 403
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "bad shop", "--scopes", "orders,refunds", stdout=out)


@override_settings(AXES_ENABLED=True)
def test_a_username_over_255_characters_is_refused_on_the_sign_in_form_not_a_500(client):
    from axes.utils import reset

    reset()
    client.raise_request_exception = False
    response = client.post(
        "/login/", {"username": "李" * 300, "password": "x"}, REMOTE_ADDR="10.3.3.3"
    )
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session


@override_settings(AXES_ENABLED=True)
def test_a_username_over_255_characters_is_a_400_on_the_token_endpoint_not_a_500():
    from axes.utils import reset
    from rest_framework.test import APIClient

    reset()
    client = APIClient()
    client.raise_request_exception = False
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "b" * 300, "password": "x"},
        format="json",
        REMOTE_ADDR="10.3.3.4",
    )
    assert response.status_code == 400
    assert "username" in response.json()["errors"]
