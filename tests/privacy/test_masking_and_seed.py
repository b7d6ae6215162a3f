"""Addresses are masked to district level; the demo seeder writes encrypted values and indexes."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from csplatform.privacy import mask_address, phone_blind_index
from orders.models import Customer, Order
from orders.selectors import order_search


def test_an_address_is_masked_to_district_level():
    address = {
        "name": "张伟",
        "phone": "13812348000",
        "province": "广东省",
        "city": "深圳市",
        "district": "南山区",
        "line1": "科技园南路 8 号",
        "postcode": "518057",
    }
    assert mask_address(address) == "广东省 深圳市 南山区"
    assert mask_address({}) == ""
    assert mask_address(None) == ""


@pytest.mark.django_db
def test_the_storefront_order_api_returns_contact_details_masked():
    from tests.factories import OrderFactory, storefront_client

    order = OrderFactory()
    body = storefront_client().get(f"/api/v1/orders/{order.number}/").json()
    assert body["shipping_address"]["phone"] == "138****8000"
    assert "line1" not in body["shipping_address"]
    assert "postcode" not in body["shipping_address"]
    assert "@" in body["customer"]["email"]
    assert "***" in body["customer"]["email"]


@pytest.mark.django_db
def test_the_demo_seeder_writes_encrypted_contact_details_and_blind_indexes():
    call_command("seed_demo", orders=30, tickets=0, stdout=io.StringIO())

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone, phone_index, CAST(shipping_address AS TEXT) FROM orders_customer "
            "JOIN orders_order ON orders_order.customer_id = orders_customer.id"
        )
        rows = cursor.fetchall()
    assert rows
    assert all(phone.startswith("gAAAAA") for phone, _, _ in rows)
    assert all('"line1": "gAAAAA' in address for _, _, address in rows)
    customer = Customer.objects.exclude(phone=None).order_by("pk").first()
    assert customer.phone.isdigit()
    assert customer.phone_index == phone_blind_index(customer.phone)
    assert Order.objects.filter(customer=customer).first().shipping_address["district"]
    assert order_search(q=customer.phone).filter(customer=customer).exists()
