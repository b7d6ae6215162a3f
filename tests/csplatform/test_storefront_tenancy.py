"""Storefront keys are tenants: a key sees its storefront's customers and orders and what hangs
off them (tickets, returns, complaints, surveys), and another storefront's object is a 404
with the very body of an object that does not exist. Keys of one storefront share its data.

Shop A is the default storefront (the factories' customers and orders are its own); shop B is
another one.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from csplatform.actors import Actor
from csplatform.models import ApiKeyProfile, Storefront
from orders.models import Customer, Order
from orders.services import customer_upsert
from refunds.models import ReturnEvidence
from tests.factories import (
    OrderFactory,
    StorefrontFactory,
    SurveyInvitationFactory,
    TicketFactory,
    admin_user,
    api_key_header,
    default_storefront,
    order_state,
    storefront_api_key,
    storefront_client,
    ticket_state,
    upload_file,
)
from tests.refunds.helpers import delivered_order, file_request
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SHOP = Actor(kind="api_key", label="shop")


@pytest.fixture
def shop_a() -> APIClient:
    return storefront_client("shop A")


@pytest.fixture
def shop_b() -> APIClient:
    return storefront_client("shop B", storefront=StorefrontFactory(name="Shop B"))


def order_body(external_id: str = "C-1", **changes) -> dict:
    return {
        "channel": "web",
        "customer": {"external_id": external_id, "name": "张伟", "phone": "13812348000"},
        "lines": [{"sku": "TEE", "name": "T-shirt", "quantity": 2, "unit_price": "99.50"}],
        "shipping_fee": "10.00",
        "total": "209.00",
        "placed_at": "2026-03-02T10:00:00+08:00",
        **changes,
    }


def assert_hidden(response, missing) -> None:
    """404 with the very body an object that does not exist gets."""
    assert response.status_code == 404, response.content
    assert missing.status_code == 404, missing.content
    assert response.json() == missing.json()


# --- Orders ----------------------------------------------------------------------------------


def test_another_storefronts_order_is_not_found_like_a_missing_one(shop_a, shop_b):
    order = OrderFactory()
    assert shop_a.get(f"/api/v1/orders/{order.number}/").status_code == 200
    assert_hidden(
        shop_b.get(f"/api/v1/orders/{order.number}/"), shop_b.get("/api/v1/orders/SO-NONE/")
    )


def test_a_put_of_another_storefronts_order_number_is_a_404_and_changes_nothing(shop_b):
    order = OrderFactory(customer__external_id="C-1")
    before = order_state(order)
    customers = Customer.objects.count()
    response = shop_b.put(f"/api/v1/orders/{order.number}/", order_body(), format="json")
    # A missing number would be created: the 404 is that of a GET of a missing order.
    assert_hidden(response, shop_b.get("/api/v1/orders/SO-NONE/"))
    assert order_state(order) == before
    assert Customer.objects.count() == customers  # no customer left behind in shop B either


def test_another_storefronts_order_takes_no_events(shop_b):
    order = OrderFactory()
    before = order_state(order)
    event = {"type": "paid", "at": "2026-03-02T10:05:00+08:00", "amount": "109.00"}
    response = shop_b.post(f"/api/v1/orders/{order.number}/events/", event, format="json")
    assert_hidden(response, shop_b.post("/api/v1/orders/SO-NONE/events/", event, format="json"))
    assert order_state(order) == before


def test_an_order_put_with_a_key_belongs_to_its_storefront_with_its_customer(shop_b):
    response = shop_b.put("/api/v1/orders/SO-B-1/", order_body(), format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.select_related("customer").get(number="SO-B-1")
    shop = Storefront.objects.get(name="Shop B")
    assert order.storefront == order.customer.storefront == shop


def test_two_keys_of_one_storefront_share_its_orders():
    shop = StorefrontFactory(name="Shop B")
    old, new = (
        storefront_client("old key", storefront=shop),
        storefront_client("new key", storefront=shop),
    )
    assert old.put("/api/v1/orders/SO-B-2/", order_body(), format="json").status_code == 201
    assert new.get("/api/v1/orders/SO-B-2/").status_code == 200
    event = {"type": "paid", "at": "2026-03-02T10:05:00+08:00", "amount": "209.00"}
    assert new.post("/api/v1/orders/SO-B-2/events/", event, format="json").status_code == 201
    replaced = new.put("/api/v1/orders/SO-B-2/", order_body(status="paid"), format="json")
    assert replaced.status_code == 200, replaced.content
    assert Order.objects.filter(storefront=shop).count() == 1


def test_desk_users_see_every_storefronts_orders():
    order = OrderFactory(customer__storefront=StorefrontFactory(name="Shop B"))
    client = APIClient()
    client.force_login(admin_user())
    assert client.get(f"/api/v1/orders/{order.number}/").status_code == 200


# --- Customers -------------------------------------------------------------------------------


def test_one_external_id_in_two_storefronts_is_two_customers(shop_a, shop_b):
    assert shop_a.put("/api/v1/orders/SO-A-1/", order_body("C-9"), format="json").status_code == 201
    assert shop_b.put("/api/v1/orders/SO-B-1/", order_body("C-9"), format="json").status_code == 201
    customers = Customer.objects.filter(external_id="C-9")
    assert sorted(c.storefront.name for c in customers) == ["Default storefront", "Shop B"]
    a, b = (Order.objects.get(number=n).customer_id for n in ("SO-A-1", "SO-B-1"))
    assert a != b


def test_an_external_id_is_unique_within_a_storefront():
    shop = default_storefront()
    first = customer_upsert(storefront=shop, external_id="C-5", name="李娜")
    assert customer_upsert(storefront=shop, external_id="C-5", phone="13700001111") == first
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(storefront=shop, external_id="C-5")


def test_another_storefronts_customer_cannot_be_erased(shop_b):
    customer = OrderFactory(customer__external_id="C-3").customer
    response = shop_b.post("/api/v1/customers/C-3/erasure/", {"reason": "asked"}, format="json")
    missing = shop_b.post("/api/v1/customers/C-NONE/erasure/", {"reason": "asked"}, format="json")
    assert_hidden(response, missing)
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert customer.external_id == "C-3"


# --- Tickets ---------------------------------------------------------------------------------


def test_a_customers_tickets_are_listed_to_their_storefront_only(shop_a, shop_b):
    ticket = TicketFactory(customer__external_id="C-7")
    theirs = TicketFactory(
        customer__external_id="C-7", customer__storefront=Storefront.objects.get(name="Shop B")
    )
    mine = shop_a.get("/api/v1/tickets/?customer=C-7").json()["results"]
    assert [t["number"] for t in mine] == [ticket.number]
    other = shop_b.get("/api/v1/tickets/?customer=C-7").json()["results"]
    assert [t["number"] for t in other] == [theirs.number]
    assert shop_b.get("/api/v1/tickets/?customer=C-NONE").json()["results"] == []


def test_another_storefronts_ticket_is_not_found(shop_a, shop_b):
    ticket = TicketFactory()
    assert shop_a.get(f"/api/v1/tickets/{ticket.number}/").status_code == 200
    assert_hidden(
        shop_b.get(f"/api/v1/tickets/{ticket.number}/"), shop_b.get("/api/v1/tickets/T-NONE/")
    )


def test_no_message_can_be_posted_on_another_storefronts_ticket(shop_b):
    ticket = TicketFactory()
    before = ticket_state(ticket)
    body = {"body": "Where is my parcel?"}
    response = shop_b.post(f"/api/v1/tickets/{ticket.number}/messages/", body, format="json")
    missing = shop_b.post("/api/v1/tickets/T-NONE/messages/", body, format="json")
    assert_hidden(response, missing)
    assert ticket_state(ticket) == before


def test_a_ticket_opened_with_a_key_is_its_storefronts(shop_a, shop_b):
    body = {
        "customer": {"external_id": "C-8", "name": "王芳"},
        "kind": "inquiry",
        "channel": "web",
        "subject": "Sizes",
        "body": "Which size?",
    }
    response = shop_b.post("/api/v1/tickets/", body, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert shop_b.get(f"/api/v1/tickets/{number}/").status_code == 200
    assert shop_a.get(f"/api/v1/tickets/{number}/").status_code == 404
    assert shop_a.get("/api/v1/tickets/?customer=C-8").json()["results"] == []


def test_a_ticket_cannot_name_another_storefronts_order(shop_b):
    order = OrderFactory(customer__external_id="C-4")
    body = {
        "customer": {"external_id": "C-4"},
        "order_number": order.number,
        "kind": "inquiry",
        "channel": "web",
        "subject": "Parcel",
        "body": "Where?",
    }
    response = shop_b.post("/api/v1/tickets/", body, format="json")
    assert response.status_code == 400
    assert "order_number" in response.json()["errors"]


# --- Returns ---------------------------------------------------------------------------------


@pytest.fixture
def return_request(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return file_request(delivered_order(), reason="size_fit")


def test_another_storefronts_return_is_not_found(shop_a, shop_b, return_request):
    url = f"/api/v1/returns/{return_request.public_id}/"
    assert shop_a.get(url).status_code == 200
    assert_hidden(shop_b.get(url), shop_b.get("/api/v1/returns/RNONE/"))


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("cancel", {}),
        ("shipment", {"carrier": "顺丰速运", "tracking_number": "SF1234567890123"}),
        ("appeal", {"description": "Please look again"}),
    ],
)
def test_another_storefronts_return_takes_no_action(shop_b, return_request, action, body):
    before = (return_request.status, return_request.events.count())
    url = f"/api/v1/returns/{return_request.public_id}/{action}/"
    missing = shop_b.post(f"/api/v1/returns/RNONE/{action}/", body, format="json")
    assert_hidden(shop_b.post(url, body, format="json"), missing)
    return_request.refresh_from_db()
    assert (return_request.status, return_request.events.count()) == before


def test_another_storefronts_return_takes_no_evidence(shop_b, return_request):
    url = f"/api/v1/returns/{return_request.public_id}/evidence/"
    response = shop_b.post(url, {"files": [upload_file()]}, format="multipart")
    missing = shop_b.post(
        "/api/v1/returns/RNONE/evidence/", {"files": [upload_file()]}, format="multipart"
    )
    assert_hidden(response, missing)
    assert not ReturnEvidence.objects.exists()


def test_a_return_cannot_be_filed_for_another_storefronts_order(shop_b):
    order = delivered_order()
    body = {
        "order_number": order.number,
        "type": "refund_only",
        "reason": "size_fit",
        "lines": [{"sku": "TS-1", "quantity": 1}],
        "description": "",
    }
    response = shop_b.post("/api/v1/returns/", body, format="json")
    missing = shop_b.post("/api/v1/returns/", {**body, "order_number": "SO-NONE"}, format="json")
    assert_hidden(response, missing)
    assert not order.returns.exists()


def test_two_keys_of_one_storefront_share_its_returns(shop_a, return_request):
    _, rotated = storefront_api_key("rotated key")  # the default storefront's, as shop A's
    client = APIClient()
    client.credentials(**api_key_header(rotated))
    url = f"/api/v1/returns/{return_request.public_id}/"
    assert client.get(url).json() == shop_a.get(url).json()
    assert ApiKeyProfile.objects.filter(storefront=default_storefront()).count() == 2


# --- Complaints ------------------------------------------------------------------------------


@pytest.fixture
def complaint():
    from complaints.services import complaint_create

    order = OrderFactory()
    return complaint_create(
        customer=order.customer,
        order=order,
        category="logistics",
        channel="web",
        description="Parcel late",
        actor=SHOP,
    )


def test_another_storefronts_complaint_is_not_found(shop_a, shop_b, complaint):
    url = f"/api/v1/complaints/{complaint.number}/"
    assert shop_a.get(url).status_code == 200
    assert_hidden(shop_b.get(url), shop_b.get("/api/v1/complaints/C-NONE/"))


def test_another_storefronts_complaint_cannot_be_confirmed(shop_b, complaint):
    before = (complaint.status, complaint.events.count())
    body = {"accepted": True, "comment": "OK"}
    response = shop_b.post(f"/api/v1/complaints/{complaint.number}/confirm/", body, format="json")
    missing = shop_b.post("/api/v1/complaints/C-NONE/confirm/", body, format="json")
    assert_hidden(response, missing)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.events.count()) == before


def test_a_complaint_filed_with_a_key_is_its_storefronts(shop_a, shop_b):
    body = {
        "customer": {"external_id": "C-6", "name": "赵敏"},
        "category": "service_attitude",
        "channel": "web",
        "description": "Rude reply",
    }
    response = shop_b.post("/api/v1/complaints/", body, format="json")
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert shop_b.get(f"/api/v1/complaints/{number}/").status_code == 200
    assert shop_a.get(f"/api/v1/complaints/{number}/").status_code == 404


# --- Surveys ---------------------------------------------------------------------------------


def test_another_storefronts_survey_link_is_not_found(shop_a, shop_b):
    invitation = SurveyInvitationFactory()
    url = f"/api/v1/surveys/?ticket={invitation.ticket.number}"
    assert shop_a.get(url).status_code == 200
    assert_hidden(shop_b.get(url), shop_b.get("/api/v1/surveys/?ticket=T-NONE"))


# --- Keys ------------------------------------------------------------------------------------


def test_the_keys_of_an_inactive_storefront_are_refused():
    shop = StorefrontFactory(name="Closed shop")
    client = storefront_client("closed", storefront=shop)
    order = OrderFactory(customer__storefront=shop)
    assert client.get(f"/api/v1/orders/{order.number}/").status_code == 200
    Storefront.objects.filter(pk=shop.pk).update(active=False)
    assert client.get(f"/api/v1/orders/{order.number}/").status_code == 401


def test_create_api_key_makes_a_key_of_the_named_storefront_creating_it_if_needed():
    out = StringIO()
    call_command("create_api_key", "shop B key", "--storefront", "Shop B", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    profile = ApiKeyProfile.objects.select_related("storefront").get(api_key__name="shop B key")
    assert profile.storefront.name == "Shop B"
    order = OrderFactory()  # the default storefront's
    client = APIClient()
    client.credentials(**api_key_header(key))
    assert client.get(f"/api/v1/orders/{order.number}/").status_code == 404

    call_command("create_api_key", "default key", stdout=StringIO())
    default = ApiKeyProfile.objects.get(api_key__name="default key")
    assert default.storefront == default_storefront()
    assert Storefront.objects.filter(name="Shop B").count() == 1


def test_the_default_storefront_stays_the_default_when_renamed():
    shop = Storefront.default()
    assert shop.is_default
    assert shop.name == "Default storefront"
    Storefront.objects.filter(pk=shop.pk).update(name="天猫旗舰店")

    assert Storefront.default() == shop
    call_command("create_api_key", "flagship key", stdout=StringIO())
    assert ApiKeyProfile.objects.get(api_key__name="flagship key").storefront == shop
    assert not Storefront.objects.filter(name="Default storefront").exists()


def test_there_is_only_one_default_storefront():
    Storefront.default()
    with pytest.raises(IntegrityError), transaction.atomic():
        Storefront.objects.create(name="Another", is_default=True)


def test_a_database_without_a_default_storefront_gets_one_on_first_use():
    Storefront.objects.filter(is_default=True).update(is_default=False, name="Old shop")

    made = Storefront.default()

    assert (made.name, made.is_default) == ("Default storefront", True)
    assert Storefront.default() == made


# --- Admin -----------------------------------------------------------------------------------


def test_the_storefronts_old_admin_address_leads_to_the_new_one(admin_client):
    shop = StorefrontFactory(name="Shop B")

    response = admin_client.get(f"/admin/orders/storefront/{shop.pk}/change/?_popup=1")

    assert response.status_code == 301
    assert response["Location"] == f"/admin/csplatform/storefront/{shop.pk}/change/?_popup=1"
    assert "Shop B" in admin_client.get("/admin/orders/storefront/", follow=True).content.decode()


def test_admin_adds_a_key_for_a_storefront_and_lists_the_storefronts(admin_client):
    client = admin_client
    shop = StorefrontFactory(name="Shop B")
    assert "Shop B" in client.get("/admin/csplatform/storefront/").content.decode()
    response = client.post(
        "/admin/rest_framework_api_key/apikey/add/",
        {
            "name": "shop B key",
            "profile-TOTAL_FORMS": "1",
            "profile-INITIAL_FORMS": "0",
            "profile-MIN_NUM_FORMS": "1",
            "profile-MAX_NUM_FORMS": "1",
            "profile-0-storefront": str(shop.pk),
            "profile-0-scopes": ["orders", "tickets"],
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    profile = ApiKeyProfile.objects.get(api_key__name="shop B key")
    assert (profile.storefront, profile.scopes) == (shop, ["orders", "tickets"])
    listing = client.get("/admin/rest_framework_api_key/apikey/").content.decode()
    assert "Shop B" in listing


# --- Demo data -------------------------------------------------------------------------------


def test_the_demo_data_is_the_default_storefronts_even_beside_another_shops_customers():
    # Another shop numbers a customer like the first demo customer: the demo gets its own.
    other = StorefrontFactory(name="Shop B")
    Customer.objects.create(storefront=other, external_id="CUS-1000001")
    call_command("seed_demo", orders=12, tickets=6, stdout=StringIO())
    shop = default_storefront()
    assert Customer.objects.filter(external_id="CUS-1000001").count() == 2
    assert not Order.objects.exclude(storefront=shop).exists()
    assert not Order.objects.exclude(customer__storefront=shop).exists()
    assert Customer.objects.filter(storefront=other).count() == 1
    assert Ticket.objects.exists()
    assert not Ticket.objects.exclude(customer__storefront=shop).exists()
