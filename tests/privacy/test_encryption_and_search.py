"""Phones, e-mails and addresses are encrypted at rest; exact phone and e-mail search still works
through the blind indexes; production refuses to start without real keys."""

import secrets

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from csplatform.models import Storefront
from csplatform.privacy import email_blind_index, phone_blind_index
from orders.models import Customer, Order
from orders.selectors import order_search
from orders.services import customer_upsert
from tests.csplatform.test_settings import import_production, production_env, random_secret_key
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    TicketFactory,
    agent_user,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
EMAIL = "Li.Na@Example.com"


def raw_row(table: str, columns: str, pk: int) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()


def test_phone_email_and_shipping_address_are_stored_encrypted():
    customer = CustomerFactory(phone=PHONE, email=EMAIL)
    order = OrderFactory(customer=customer)
    phone, email = raw_row("orders_customer", "phone, email", customer.pk)
    # CAST(... AS TEXT), not the PostgreSQL-only shorthand, so the check runs on SQLite too.
    (address,) = raw_row("orders_order", "CAST(shipping_address AS TEXT)", order.pk)
    assert PHONE not in phone
    assert EMAIL not in email
    assert phone.startswith("gAAAAA")
    assert email.startswith("gAAAAA")
    assert "文三路" not in address
    assert "13812348000" not in address
    assert "西湖区" not in address
    reloaded = Order.objects.select_related("customer").get(pk=order.pk)
    assert reloaded.customer.phone == PHONE
    assert reloaded.customer.email == EMAIL
    assert reloaded.shipping_address["line1"] == "文三路 90 号 3 幢 501"


def test_blind_indexes_follow_every_change_of_phone_and_email():
    customer = customer_upsert(
        storefront=Storefront.default(), external_id="C-1", name="李娜", phone=PHONE, email=EMAIL
    )
    assert customer.phone_index == phone_blind_index("+86 139-1234-5678")
    assert customer.email_index == email_blind_index("li.na@example.com")
    customer_upsert(storefront=Storefront.default(), external_id="C-1", phone="13700001111")
    customer.refresh_from_db()
    assert customer.phone == "13700001111"
    assert customer.phone_index == phone_blind_index("13700001111")
    assert customer.email_index == email_blind_index(EMAIL)


def test_the_blind_index_is_a_keyed_hash_that_changes_with_its_key(settings):
    before = phone_blind_index(PHONE)
    settings.PII_BLIND_INDEX_KEY = secrets.token_urlsafe(40)
    assert phone_blind_index(PHONE) != before
    assert PHONE not in before
    assert len(before) == 64


def test_an_empty_phone_or_email_has_no_index_and_matches_nothing():
    CustomerFactory(phone="", email="")
    assert Customer.objects.filter(phone_index="").count() == 1
    assert not order_search(q="no digits here").exists()


def test_order_search_finds_the_customer_by_exact_phone_in_any_spelling_and_by_email():
    order = OrderFactory(customer=CustomerFactory(phone=PHONE, email=EMAIL))
    OrderFactory()
    for q in (PHONE, "139 1234 5678", "+86 139-1234-5678", "li.na@example.com"):
        assert list(order_search(q=q)) == [order], q
    assert not order_search(q="1391234567").exists()  # a prefix is not a match


def test_the_ticket_queue_search_finds_the_customer_by_phone_and_email():
    ticket = TicketFactory(customer=CustomerFactory(phone=PHONE, email=EMAIL))
    TicketFactory()
    assert list(Ticket.objects.search(PHONE)) == [ticket]
    assert list(Ticket.objects.search(EMAIL.upper())) == [ticket]


def test_the_agent_queue_api_searches_by_phone():
    agent = agent_user()
    ticket = TicketFactory(customer=CustomerFactory(phone=PHONE))
    ticket.team.members.add(agent)
    client = Client()
    client.force_login(agent)
    body = client.get("/api/v1/tickets/", {"q": PHONE}).json()
    assert [row["number"] for row in body["results"]] == [ticket.number]


def test_the_admin_finds_a_customer_by_exact_phone(admin_client):
    customer = CustomerFactory(phone=PHONE)
    CustomerFactory()
    page = admin_client.get("/admin/orders/customer/", {"q": PHONE}).content.decode()
    assert customer.external_id in page
    assert "1 result" in page or "1 customer" in page
    results = page[page.index("<tbody>") : page.index("</tbody>")].replace(f"q%3D{PHONE}", "")
    assert "139****5678" in results
    assert PHONE not in results


def test_the_data_migration_encrypted_rows_and_the_reencrypt_command_keeps_them_readable(settings):
    customer = CustomerFactory(phone=PHONE, email=EMAIL)
    order = OrderFactory(customer=customer)
    old_token = raw_row("orders_customer", "phone", customer.pk)[0]
    settings.SALT_KEY = [secrets.token_urlsafe(40), *settings.SALT_KEY]
    for field in (Customer._meta.get_field("phone"), Customer._meta.get_field("email")):
        field.__dict__.pop("keys", None), field.__dict__.pop("f", None)
    address_field = Order._meta.get_field("shipping_address")
    address_field.__dict__.pop("keys", None), address_field.__dict__.pop("f", None)
    try:
        call_command("pii_reencrypt", stdout=open("/dev/null", "w"))  # noqa: SIM115
        new_token = raw_row("orders_customer", "phone", customer.pk)[0]
        assert new_token != old_token
        customer.refresh_from_db()
        order.refresh_from_db()
        assert customer.phone == PHONE
        assert order.shipping_address["district"] == "西湖区"
    finally:
        for field in (
            Customer._meta.get_field("phone"),
            Customer._meta.get_field("email"),
            address_field,
        ):
            field.__dict__.pop("keys", None), field.__dict__.pop("f", None)


def test_production_settings_refuse_to_load_without_personal_data_keys():
    env = production_env(SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="example.com")
    del env["PII_ENCRYPTION_KEYS"]
    result = import_production(env)
    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEYS" in result.stderr
    env = production_env(SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="example.com")
    del env["PII_BLIND_INDEX_KEY"]
    result = import_production(env)
    assert result.returncode != 0
    assert "PII_BLIND_INDEX_KEY" in result.stderr


@pytest.mark.parametrize("key", ["short", "dev-only-pii-encryption-dev-only-not-secret-csplatform"])
def test_production_settings_refuse_a_weak_or_development_encryption_key(key):
    env = production_env(
        SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="example.com", PII_ENCRYPTION_KEYS=key
    )
    result = import_production(env)
    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEYS" in result.stderr
