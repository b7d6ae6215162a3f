"""Erasure: after a customer's erasure no table holds their name, phone, e-mail or street;
orders, refunds and their totals stay, under a pseudonymous id; a destruction record is kept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from csplatform.actors import Actor
from orders.models import Customer, Order
from privacy.choices import ErasureTrigger
from privacy.models import ErasureRecord, PiiAccessLog, PrivacySettings
from privacy.services import AlreadyErased, customer_erase, customers_inactive_erase, pii_reveal
from privacy.tasks import customers_inactive_erase_task
from refunds.models import Refund, ReturnRequest
from tests.factories import CustomerFactory, OrderFactory, TicketFactory, admin_user

from .journey import (
    EMAIL,
    NAME,
    NOW,
    PHONE,
    RELATIVE,
    RELATIVE_PHONE,
    STREET,
    run_journey,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

TEXT_TYPES = ("text", "character varying", "jsonb", "json")


def tables_containing(needle: str) -> list[str]:
    """Every ``table.column`` of text or JSON, in the whole database, whose value holds the
    needle (spaces and dashes ignored, case ignored)."""
    found = []
    compact = needle.replace(" ", "").replace("-", "")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type = ANY(%s)",
            [list(TEXT_TYPES)],
        )
        for table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM "{table}" '  # noqa: S608 -- names from the catalogue
                f"""WHERE regexp_replace("{column}"::text, '[ -]', '', 'g') ILIKE %s""",
                [f"%{compact}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return found


def money_state() -> dict:
    return {
        "orders": Order.objects.aggregate(
            total=Sum("total"), paid=Sum("paid_amount"), refunded=Sum("refunded_amount")
        ),
        "order count": Order.objects.count(),
        "returns": ReturnRequest.objects.count(),
        "refunds": Refund.objects.aggregate(amount=Sum("amount")),
    }


@pytest.mark.postgres(reason="every text column, from information_schema, read with regexp_replace")
def test_after_an_erasure_no_table_holds_the_customers_name_phone_email_or_street():
    agent = admin_user()
    journey = run_journey(desk_user=agent)
    customer = Customer.objects.get(external_id="C-ERASE-1")
    pii_reveal(
        user=agent,
        customer=customer,
        field="phone",
        reason="other",
        reason_detail=f"客户 {NAME} 要求回电 {PHONE}",
        now=NOW,
    )
    # The data is there before (the search works), in the tables the journey wrote.
    assert tables_containing(NAME)
    assert tables_containing(PHONE)
    assert tables_containing(EMAIL)
    before = money_state()

    response = journey.storefront.post(
        "/api/v1/customers/C-ERASE-1/erasure/", {"reason": "客户要求删除"}, format="json"
    )

    assert response.status_code == 201, response.json()
    for needle in (NAME, PHONE, EMAIL, STREET, RELATIVE, RELATIVE_PHONE):
        assert tables_containing(needle) == [], needle
    assert money_state() == before


def test_an_erased_customer_keeps_orders_refunds_and_tickets_under_a_pseudonymous_id():
    journey = run_journey()
    customer = Customer.objects.get(external_id="C-ERASE-1")

    record = customer_erase(
        customer=customer, requested_by=Actor.system("test"), reason="request", now=NOW
    )

    customer.refresh_from_db()
    assert customer.external_id == record.pseudonym
    assert record.pseudonym.startswith("anon-")
    assert (customer.name, customer.phone, customer.email) == ("", None, None)
    assert (customer.phone_index, customer.email_index) == ("", "")
    assert customer.erased_at == NOW
    order = Order.objects.get(number=journey.order_number)
    assert order.customer_id == customer.pk
    assert order.total == Decimal("208.00")
    assert order.shipping_address == {"province": "浙江省", "city": "杭州市", "district": "上城区"}
    assert ReturnRequest.objects.get(public_id=journey.return_id).order_id == order.pk
    assert journey.ticket_number in set(customer.tickets.values_list("number", flat=True))


def test_the_destruction_record_says_when_who_and_how_many_rows_of_which_table_never_values():
    run_journey()
    customer = Customer.objects.get(external_id="C-ERASE-1")

    record = customer_erase(
        customer=customer,
        requested_by=Actor.system("privacy-desk"),
        reason=f"{NAME} asked, call {PHONE}",
        now=NOW,
    )

    assert record.at == NOW
    assert record.trigger == ErasureTrigger.REQUEST
    assert record.requested_by == "system:privacy-desk"
    assert record.rows_by_table["orders.Customer"] == 1
    assert record.rows_by_table["orders.Order"] == 2
    assert record.rows_by_table["tickets.Message"] >= 2
    assert record.rows_by_table["refunds.ReturnRequest"] == 1
    stored = str(record.reason) + str(record.rows_by_table)
    assert NAME not in stored
    assert PHONE not in stored


def test_a_customer_is_erased_once():
    customer = CustomerFactory()
    customer_erase(customer=customer, requested_by=Actor.system(), now=NOW)
    with pytest.raises(AlreadyErased):
        customer_erase(customer=customer, requested_by=Actor.system(), now=NOW)
    assert ErasureRecord.objects.count() == 1


def test_the_erasure_api_answers_404_for_an_unknown_or_already_erased_customer():
    journey_client = run_journey().storefront
    url = "/api/v1/customers/C-ERASE-1/erasure/"
    assert journey_client.post(url, {}, format="json").status_code == 201
    assert journey_client.post(url, {}, format="json").status_code == 404
    assert journey_client.post("/api/v1/customers/NOPE/erasure/", {}).status_code == 404


def test_the_erasure_api_needs_a_storefront_key_with_the_orders_scope(client):
    CustomerFactory(external_id="C-1")
    response = client.post("/api/v1/customers/C-1/erasure/", {})
    assert response.status_code in (401, 403)
    assert Customer.objects.get(external_id="C-1").erased_at is None


def test_the_admin_action_erases_the_selected_customers(admin_client):
    customer = CustomerFactory(name="欧阳娜娜")
    OrderFactory(customer=customer)

    response = admin_client.post(
        "/admin/orders/customer/",
        {"action": "erase_personal_data", "_selected_action": [customer.pk]},
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.erased_at is not None
    assert customer.name == ""
    record = ErasureRecord.objects.get()
    assert record.requested_by.startswith("user:")


def test_the_reveal_log_survives_the_erasure_without_the_personal_data_typed_into_it():
    customer = CustomerFactory(phone=PHONE)
    log = pii_reveal(
        user=admin_user(),
        customer=customer,
        field="phone",
        reason="other",
        reason_detail=f"call {PHONE} back",
        now=NOW,
    )[1]
    customer_erase(customer=customer, requested_by=Actor.system(), now=NOW)
    log.refresh_from_db()
    assert log.customer_id == customer.pk
    assert PHONE not in log.reason_detail
    assert PiiAccessLog.objects.count() == 1


# --- Retention -----------------------------------------------------------------------------


def arrange_last_activity(customer, at):
    Customer.objects.filter(pk=customer.pk).update(created_at=at, updated_at=at)
    Order.objects.filter(customer=customer).update(placed_at=at, updated_at=at)
    customer.tickets.update(created_at=at, updated_at=at)


def test_customers_inactive_beyond_the_retention_period_are_erased_with_a_record():
    dormant = CustomerFactory()
    OrderFactory(customer=dormant)
    arrange_last_activity(dormant, NOW - timedelta(days=3 * 365 + 1))
    recent = CustomerFactory()
    OrderFactory(customer=recent)
    arrange_last_activity(recent, NOW - timedelta(days=3 * 365 - 1))

    records = customers_inactive_erase(now=NOW)

    assert [r.pseudonym for r in records] == [Customer.objects.get(pk=dormant.pk).external_id]
    assert records[0].trigger == ErasureTrigger.RETENTION
    assert records[0].requested_by == "system:retention"
    assert Customer.objects.get(pk=recent.pk).erased_at is None


def test_a_recent_ticket_keeps_an_old_customer():
    customer = CustomerFactory()
    TicketFactory(customer=customer)
    arrange_last_activity(customer, NOW - timedelta(days=4 * 365))
    customer.tickets.update(updated_at=NOW - timedelta(days=10))
    assert customers_inactive_erase(now=NOW) == []


def test_the_retention_period_and_batch_are_set_in_admin_settings():
    settings = PrivacySettings.load()
    assert settings.inactive_customer_retention_days == 3 * 365
    settings.inactive_customer_retention_days = 30
    settings.erasure_batch_size = 1
    settings.save()
    for _ in range(2):
        arrange_last_activity(CustomerFactory(), NOW - timedelta(days=31))

    assert len(customers_inactive_erase(now=NOW)) == 1
    assert len(customers_inactive_erase(now=NOW)) == 1
    assert customers_inactive_erase(now=NOW) == []


def test_the_periodic_task_erases_and_is_on_the_beat_schedule():
    from csplatform.celery import app

    arrange_last_activity(CustomerFactory(), NOW - timedelta(days=4 * 365))
    assert customers_inactive_erase_task() == 1
    entries = {e["task"] for e in app.conf.beat_schedule.values()}
    assert "privacy.tasks.customers_inactive_erase_task" in entries
