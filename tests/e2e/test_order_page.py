"""An agent logs in, finds an order and reads it, in English and in Simplified Chinese."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from csplatform.actors import Actor
from csplatform.models import Storefront
from orders import services
from tests.e2e.conftest import login

pytestmark = pytest.mark.django_db(transaction=True)


def _agent() -> User:
    user = User.objects.create_user(
        "li.na", password="secret-pass-123", first_name="娜", last_name="李"
    )
    user.groups.add(Group.objects.get(name="agent"))
    return user


def _order(number: str = "SO-2000001"):
    placed = timezone.now() - timedelta(days=2)
    services.order_upsert(
        storefront=Storefront.default(),
        number=number,
        customer={"external_id": "C-88", "name": "王芳", "phone": "13912345678", "tier": "vip"},
        channel="live_stream",
        currency="CNY",
        lines=[
            services.LineInput(
                sku="LS-01", name="羊绒围巾", quantity=1, unit_price=Decimal("299.00")
            ),
            services.LineInput(
                sku="LS-02", name="真丝眼罩", quantity=2, unit_price=Decimal("59.00")
            ),
        ],
        shipping_fee=Decimal("0"),
        discount=Decimal("17.00"),
        total=Decimal("400.00"),
        status="pending_payment",
        placed_at=placed,
        shipping_address={"province": "广东省", "city": "深圳市", "district": "南山区"},
        actor=Actor.system("storefront"),
    )
    storefront = Actor.system("storefront")
    services.order_event_record(
        number=number,
        type="paid",
        at=placed + timedelta(minutes=3),
        payload={"amount": "400.00", "method": "wechat", "transaction_id": "WX-1"},
        actor=storefront,
    )
    services.order_event_record(
        number=number,
        type="shipped",
        at=placed + timedelta(hours=5),
        payload={"carrier": "顺丰速运", "tracking_number": "SF1234567890"},
        actor=storefront,
    )
    services.order_event_record(
        number=number,
        type="logistics_update",
        at=placed + timedelta(hours=30),
        payload={"status": "delayed", "description": "暴雨导致延误"},
        actor=storefront,
    )


def test_agent_finds_an_order_by_phone_and_reads_it_with_the_phone_masked(page, screenshot):
    _agent()
    _order()
    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))  # the ticket queue is the desk's home
    page.get_by_role("link", name="Orders").click()
    page.wait_for_url(re.compile(r"/desk/orders/$"))

    page.keyboard.press("/")
    page.keyboard.type("13912345678")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="SO-2000001").click()

    page.wait_for_url(re.compile(r"/desk/orders/SO-2000001/$"))
    assert page.locator("#customer-phone").inner_text() == "139****5678"
    assert "13912345678" not in page.content()
    assert page.locator("#lines tbody tr").count() == 2
    assert "Logistics delayed" in page.locator("#exceptions").inner_text()
    assert "SF1234567890" in page.content()
    screenshot("order-detail-en")


def test_the_desk_speaks_simplified_chinese_after_switching_language(page, screenshot):
    _agent()
    _order()
    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.goto("/desk/orders/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.get_by_role("heading", name="订单").is_visible()
    page.goto("/desk/orders/SO-2000001/")
    assert "物流延误" in page.locator("#exceptions").inner_text()
    assert "商品" in page.content()
    screenshot("order-detail-zh")
