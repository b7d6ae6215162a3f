"""Who may call what: storefront keys, agents' tokens and sessions, and the desk pages."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_api_key.models import APIKey

from orders.models import Order
from tests.factories import (
    DEFAULT_PASSWORD,
    OrderFactory,
    UserFactory,
    agent_user,
    api_key_header,
    demo_user,
    storefront_api_key,
    supervisor_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return OrderFactory(number="SO-1001")


def order_put_body(order: Order) -> dict:
    line = order.lines.get()
    return {
        "channel": order.channel,
        "customer": {"external_id": order.customer.external_id},
        "lines": [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
            }
        ],
        "shipping_fee": str(order.shipping_fee),
        "total": str(order.total),
        "placed_at": order.placed_at.isoformat(),
    }


def assert_unauthenticated(response) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Api-Key"
    body = response.json()
    assert set(body) == {"code", "detail"}
    assert body["code"] in {"not_authenticated", "authentication_failed"}


# --- Storefront keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/orders/SO-1001/"),
        ("put", "/api/v1/orders/SO-1001/"),
        ("post", "/api/v1/orders/SO-1001/events/"),
    ],
)
def test_a_request_without_credentials_is_401_with_www_authenticate(api, order, method, path):
    response = getattr(api, method)(path, {}, format="json")

    assert_unauthenticated(response)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key not-a-key",
        "Api-Key AbCdEfGh.wrongsecretwrongsecretwrongsecret",
        "Api-Key",
        "Api-Key two parts",
    ],
)
def test_a_wrong_or_malformed_key_is_401(api, order, header):
    storefront_api_key()

    response = api.get("/api/v1/orders/SO-1001/", HTTP_AUTHORIZATION=header)

    assert_unauthenticated(response)


def test_a_key_with_the_right_prefix_and_a_wrong_secret_is_401(api, order):
    api_key, key = storefront_api_key()
    forged = f"{api_key.prefix}.{'x' * (len(key) - len(api_key.prefix) - 1)}"

    response = api.get("/api/v1/orders/SO-1001/", **api_key_header(forged))

    assert_unauthenticated(response)


def test_a_valid_key_may_read_and_write_orders(api, order):
    _, key = storefront_api_key()

    assert api.get("/api/v1/orders/SO-1001/", **api_key_header(key)).status_code == 200
    response = api.put(
        "/api/v1/orders/SO-1001/", order_put_body(order), format="json", **api_key_header(key)
    )
    assert response.status_code == 200, response.json()


def test_a_revoked_key_is_401(api, order):
    api_key, key = storefront_api_key()
    api_key.revoked = True
    api_key.save()

    response = api.get("/api/v1/orders/SO-1001/", **api_key_header(key))

    assert_unauthenticated(response)


def test_an_expired_key_is_401(api, order):
    _, key = storefront_api_key(expiry_date=timezone.now() - timedelta(seconds=1))

    response = api.get("/api/v1/orders/SO-1001/", **api_key_header(key))

    assert_unauthenticated(response)


def test_a_key_that_expires_later_still_works(api, order):
    _, key = storefront_api_key(expiry_date=timezone.now() + timedelta(days=1))

    assert api.get("/api/v1/orders/SO-1001/", **api_key_header(key)).status_code == 200


def test_a_storefront_key_does_not_open_the_desk(client, order):
    _, key = storefront_api_key()

    response = client.get("/desk/orders/SO-1001/", **api_key_header(key))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# --- The desk pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/desk/", "/desk/orders/", "/desk/orders/SO-1001/"])
def test_an_anonymous_visitor_of_the_desk_is_sent_to_log_in(client, order, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("path", ["/desk/orders/", "/desk/orders/SO-1001/"])
def test_a_signed_in_user_without_a_role_gets_404_on_the_desk(client, order, path):
    client.force_login(UserFactory())

    assert client.get(path).status_code == 404


@pytest.mark.parametrize("make_user", [agent_user, supervisor_user])
def test_desk_users_see_the_order_page_with_the_phone_masked(client, make_user):
    order = OrderFactory(number="SO-1001", customer__phone="13812348000")
    client.force_login(make_user())

    response = client.get("/desk/orders/SO-1001/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "138****8000" in page
    assert "13812348000" not in page
    assert order.lines.get().sku in page


def test_the_order_page_of_an_unknown_order_is_404(client):
    client.force_login(agent_user())

    assert client.get("/desk/orders/SO-404/").status_code == 404


def test_an_agent_logs_in_with_a_password_and_reaches_the_desk(client, order):
    user = agent_user(username="li.na")

    response = client.post(
        "/login/", {"username": "li.na", "password": DEFAULT_PASSWORD, "next": "/desk/orders/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/desk/orders/"
    assert client.get("/desk/orders/").context["user"] == user


# --- Agents' tokens ----------------------------------------------------------------------------


def obtain_token(api: APIClient, username: str, password: str = DEFAULT_PASSWORD):
    return api.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_an_agent_obtains_a_token_with_username_and_password(api):
    agent_user(username="li.na")

    response = obtain_token(api, "li.na")

    assert response.status_code == 200
    assert response.json()["token"]


def test_a_wrong_password_gets_no_token(api):
    agent_user(username="li.na")

    response = obtain_token(api, "li.na", "guess")

    assert response.status_code == 400
    assert "token" not in response.json()


def test_an_agents_token_may_read_an_order(api, order):
    agent_user(username="li.na")
    token = obtain_token(api, "li.na").json()["token"]

    response = api.get("/api/v1/orders/SO-1001/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert response.json()["number"] == "SO-1001"


def test_an_agents_token_may_not_write_orders_or_events_which_need_the_storefront_key(api, order):
    agent_user(username="li.na")
    token = obtain_token(api, "li.na").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    before = Order.objects.filter(pk=order.pk).values().get()

    put = api.put("/api/v1/orders/SO-1001/", order_put_body(order), format="json")
    event = api.post(
        "/api/v1/orders/SO-1001/events/",
        {"type": "cancelled", "at": timezone.now().isoformat()},
        format="json",
    )

    for response in (put, event):
        assert response.status_code == 403, response.content
        assert set(response.json()) == {"code", "detail"}
        assert response.json()["code"] == "permission_denied"
    assert Order.objects.filter(pk=order.pk).values().get() == before


def test_a_token_of_a_user_without_a_role_may_not_read_orders(api, order):
    UserFactory(username="outsider")
    token = obtain_token(api, "outsider").json()["token"]

    response = api.get("/api/v1/orders/SO-1001/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 403


def test_a_wrong_token_is_401(api, order):
    response = api.get("/api/v1/orders/SO-1001/", HTTP_AUTHORIZATION="Token 0123456789abcdef")

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_a_signed_in_agents_session_may_read_orders_through_the_api(api, order):
    api.force_login(agent_user())

    assert api.get("/api/v1/orders/SO-1001/").status_code == 200


def test_a_demo_account_gets_no_token_where_demo_accounts_are_not_allowed(api, settings):
    settings.DEMO_ACCOUNTS_ALLOWED = False
    demo_user(username="agent")

    assert obtain_token(api, "agent").status_code == 400


# --- Keys made on the command line -------------------------------------------------------------


def test_create_api_key_prints_a_working_key_as_its_last_line(api, order):
    out = StringIO()

    call_command("create_api_key", "shop-hangzhou", stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    api_key = APIKey.objects.get(name="shop-hangzhou")
    assert key.startswith(api_key.prefix + ".")
    assert key not in (api_key.hashed_key, api_key.id)  # stored hashed
    assert api.get("/api/v1/orders/SO-1001/", **api_key_header(key)).status_code == 200


def test_a_key_created_already_expired_is_refused(api, order):
    out = StringIO()

    call_command("create_api_key", "old-shop", "--expires", "2020-01-01", stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    assert_unauthenticated(api.get("/api/v1/orders/SO-1001/", **api_key_header(key)))


@pytest.mark.parametrize("args", [["  "], ["shop", "--expires", "next tuesday"]])
def test_create_api_key_refuses_a_blank_name_or_an_unreadable_expiry(args):
    with pytest.raises(CommandError):
        call_command("create_api_key", *args, stdout=StringIO())
    assert not APIKey.objects.exists()


def test_a_token_lasts_the_sessions_absolute_lifetime_then_is_refused(api, order):
    import time_machine

    agent_user(username="li.na")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        issued = obtain_token(api, "li.na").json()
    assert issued["expires_at"].startswith((start + timedelta(hours=12)).strftime("%Y-%m-%dT%H"))
    auth = {"HTTP_AUTHORIZATION": f"Token {issued['token']}"}
    with time_machine.travel(start + timedelta(hours=11, minutes=59), tick=False):
        assert api.get("/api/v1/orders/SO-1001/", **auth).status_code == 200
    with time_machine.travel(start + timedelta(hours=12), tick=False):
        expired = api.get("/api/v1/orders/SO-1001/", **auth)
        assert expired.status_code == 401
        assert obtain_token(api, "li.na").json()["token"] != issued["token"]  # a new one


def test_signing_out_of_the_desk_revokes_the_api_token(api, client, order):
    agent_user(username="li.na")
    token = obtain_token(api, "li.na").json()["token"]
    client.post("/login/", {"username": "li.na", "password": DEFAULT_PASSWORD})

    client.post("/logout/")

    response = api.get("/api/v1/orders/SO-1001/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 401


def test_an_agent_revokes_their_token_through_the_api(api, order):
    agent_user(username="li.na")
    token = obtain_token(api, "li.na").json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}

    assert api.delete("/api/v1/auth/token/", **auth).status_code == 204
    assert api.get("/api/v1/orders/SO-1001/", **auth).status_code == 401
    assert api.delete("/api/v1/auth/token/").status_code == 401


@pytest.mark.django_db
def test_a_locked_out_username_gets_429_with_retry_after_from_the_token_endpoint(api, settings):
    from axes.utils import reset

    settings.AXES_ENABLED = True
    reset()
    agent_user(username="li.na")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert obtain_token(api, "li.na", "wrong").status_code == 400

    locked = obtain_token(api, "li.na")  # even the right password, for the cool-off

    assert locked.status_code == 429
    assert int(locked["Retry-After"]) == 15 * 60
    assert locked.json()["code"] == "throttled"
    assert "token" not in locked.json()
