"""One customer's full trip through the API, leaving their personal data in every table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rest_framework.test import APIClient

from tests.factories import api_key_header, storefront_api_key

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)

NAME = "欧阳娜娜"
PHONE = "13912345678"
EMAIL = "nana.ouyang@example.net"
STREET = "解放路 88 号 6 幢 302"
RELATIVE = "欧阳大海"  # receives one parcel for her
RELATIVE_PHONE = "13698765432"


@dataclass
class Journey:
    storefront: APIClient
    order_number: str
    ticket_number: str
    return_id: str
    complaint_number: str | None


def customer_body(external_id: str = "C-ERASE-1") -> dict:
    return {"external_id": external_id, "name": NAME, "phone": PHONE, "email": EMAIL}


def order_body(*, recipient: str = NAME, recipient_phone: str = PHONE) -> dict:
    return {
        "channel": "app",
        "customer": {**customer_body(), "tier": "regular"},
        "currency": "CNY",
        "lines": [
            {"sku": "TS-1", "name": "T 恤", "quantity": 2, "unit_price": "99.00"},
        ],
        "shipping_fee": "10.00",
        "discount": "0.00",
        "total": "208.00",
        "status": "delivered",
        "placed_at": (NOW - timedelta(days=3)).isoformat(),
        "shipping_address": {
            "name": recipient,
            "phone": recipient_phone,
            "province": "浙江省",
            "city": "杭州市",
            "district": "上城区",
            "line1": STREET,
            "postcode": "310009",
        },
    }


def run_journey(desk_user=None) -> Journey:
    """PUT two orders, open a ticket and reply, file a return and a complaint, as the storefront.

    With ``desk_user``, an agent also answers the ticket (naming the customer).
    """
    _, key = storefront_api_key("journey-shop")
    storefront = APIClient()
    storefront.credentials(**api_key_header(key))

    response = storefront.put("/api/v1/orders/SO-77001/", order_body(), format="json")
    assert response.status_code == 201, response.json()
    relative = order_body(recipient=RELATIVE, recipient_phone=RELATIVE_PHONE)
    response = storefront.put("/api/v1/orders/SO-77002/", relative, format="json")
    assert response.status_code == 201, response.json()

    response = storefront.post(
        "/api/v1/tickets/",
        {
            "customer": customer_body(),
            "order_number": "SO-77001",
            "kind": "order_issue",
            "channel": "app",
            "subject": f"{NAME} 的订单 {PHONE}",
            "body": f"我是{NAME}，电话 139-1234-5678，邮箱 {EMAIL.upper()}，地址 {STREET}。",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    ticket_number = response.json()["number"]
    response = storefront.post(
        f"/api/v1/tickets/{ticket_number}/messages/",
        {"body": f"请回电 +86 139 1234 5678，或者打给{RELATIVE} {RELATIVE_PHONE}"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    if desk_user is not None:
        desk = APIClient()
        desk.force_login(desk_user)
        response = desk.post(
            f"/api/v1/tickets/{ticket_number}/messages/",
            {"body": f"{NAME}您好，我们会致电 {PHONE}。"},
            format="json",
        )
        assert response.status_code == 201, response.json()

    response = storefront.post(
        "/api/v1/returns/",
        {
            "order_number": "SO-77001",
            "type": "return_refund",
            "reason": "no_reason_7d",
            "lines": [{"sku": "TS-1", "quantity": 1}],
            "description": f"太小了，请联系 {EMAIL} 或 {PHONE}（{NAME}）",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="journey-return-1",
    )
    assert response.status_code == 201, response.json()
    return_id = response.json()["id"]

    complaint_number = None
    response = storefront.post(
        "/api/v1/complaints/",
        {
            "customer": customer_body(),
            "order_number": "SO-77001",
            "category": "logistics",
            "channel": "app",
            "description": f"{NAME}投诉：快递员没有打 {PHONE}，地址 {STREET} 也没送到",
        },
        format="json",
    )
    if response.status_code != 404:  # the complaints app is mounted
        assert response.status_code == 201, response.json()
        complaint_number = response.json()["number"]
    return Journey(storefront, "SO-77001", ticket_number, return_id, complaint_number)
