"""Personal data is masked on the desk; revealing a field asks for a reason and is logged;
supervisors and admins read the log."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from privacy.models import PiiAccessLog
from privacy.services import pii_reveal
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    TeamFactory,
    TicketFactory,
    admin_user,
    agent_user,
    supervisor_user,
)

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
EMAIL = "li.na@example.com"
NOW = datetime(2026, 3, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def desk(user) -> Client:
    client = Client(REMOTE_ADDR="10.0.0.7")
    client.force_login(user)
    return client


@pytest.fixture
def order():
    return OrderFactory(customer=CustomerFactory(phone=PHONE, email=EMAIL))


def test_the_order_page_shows_phone_email_and_address_masked_with_reveal_actions(order):
    page = desk(agent_user()).get(f"/desk/orders/{order.number}/").content.decode()
    assert "139****5678" in page
    assert "l***@example.com" in page
    assert "浙江省 杭州市 西湖区" in page
    for secret in (PHONE, EMAIL, "文三路", "13812348000"):
        assert secret not in page
    assert f"/desk/orders/{order.number}/reveal/phone/" in page
    assert f"/desk/orders/{order.number}/reveal/address/" in page


def test_the_reveal_form_asks_for_a_reason_from_the_list(order):
    form = desk(agent_user()).get(f"/desk/orders/{order.number}/reveal/phone/").content.decode()
    assert 'name="reason"' in form
    assert 'value="call_back"' in form
    assert 'name="reason_detail"' in form
    assert PHONE not in form
    assert not PiiAccessLog.objects.exists()


def test_revealing_without_a_reason_shows_nothing_and_logs_nothing(order):
    client = desk(agent_user())
    response = client.post(f"/desk/orders/{order.number}/reveal/phone/", {"reason": ""})
    assert response.status_code == 422
    assert PHONE not in response.content.decode()
    response = client.post(f"/desk/orders/{order.number}/reveal/phone/", {"reason": "other"})
    assert response.status_code == 422
    assert PHONE not in response.content.decode()
    assert not PiiAccessLog.objects.exists()


def test_a_reveal_with_a_reason_shows_the_field_and_logs_who_when_whose_what_why_and_ip(order):
    agent = agent_user()
    response = desk(agent).post(
        f"/desk/orders/{order.number}/reveal/phone/",
        {"reason": "call_back", "reason_detail": "asked to be called"},
    )
    assert response.status_code == 200
    assert PHONE in response.content.decode()
    log = PiiAccessLog.objects.get()
    assert (log.user, log.customer, log.field, log.order) == (agent, order.customer, "phone", order)
    assert (log.reason, log.reason_detail, log.ip_address) == (
        "call_back",
        "asked to be called",
        "10.0.0.7",
    )


def test_the_full_shipping_address_is_revealed_per_order(order):
    response = desk(agent_user()).post(
        f"/desk/orders/{order.number}/reveal/address/", {"reason": "delivery"}
    )
    body = response.content.decode()
    assert "文三路 90 号 3 幢 501" in body
    assert "310012" in body
    assert PiiAccessLog.objects.get().field == "address"


def test_an_agent_reveals_a_ticket_customers_email_only_for_a_ticket_of_their_team():
    team = TeamFactory()
    member, outsider = agent_user(), agent_user()
    team.members.add(member)
    ticket = TicketFactory(team=team, customer=CustomerFactory(email=EMAIL))
    url = f"/desk/tickets/{ticket.number}/reveal/email/"

    assert desk(outsider).post(url, {"reason": "identity"}).status_code == 404
    response = desk(member).post(url, {"reason": "identity"})

    assert response.status_code == 200
    assert EMAIL in response.content.decode()
    log = PiiAccessLog.objects.get()
    assert (log.user, log.ticket, log.field) == (member, ticket, "email")


def test_the_ticket_page_shows_masked_contact_details_with_reveal_actions():
    team = TeamFactory()
    agent = agent_user()
    team.members.add(agent)
    ticket = TicketFactory(team=team, customer=CustomerFactory(phone=PHONE, email=EMAIL))
    page = desk(agent).get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert "139****5678" in page
    assert "l***@example.com" in page
    assert PHONE not in page
    assert EMAIL not in page
    assert f"/desk/tickets/{ticket.number}/reveal/phone/" in page


def reveal(user, customer):
    return pii_reveal(user=user, customer=customer, field="phone", reason="call_back", now=NOW)


@pytest.mark.parametrize("reader", [supervisor_user, admin_user])
def test_supervisors_of_any_team_and_admins_read_the_access_log(reader, order):
    agent = agent_user(username="kf07")
    reveal(agent, order.customer)
    page = desk(reader()).get("/desk/privacy/access-log/").content.decode()
    assert "kf07" in page
    assert order.customer.external_id in page
    assert "Calling the customer back" in page
    assert PHONE not in page


def test_agents_cannot_read_the_access_log(order):
    assert desk(agent_user()).get("/desk/privacy/access-log/").status_code == 404


def test_the_access_log_page_loads_in_a_fixed_number_of_queries(
    order, django_assert_max_num_queries
):
    supervisor = supervisor_user()
    client = desk(supervisor)
    for _ in range(3):
        reveal(agent_user(), order.customer)
    client.get("/desk/privacy/access-log/")  # warm the session and role caches
    with django_assert_max_num_queries(12) as few:
        client.get("/desk/privacy/access-log/")
    for _ in range(20):
        reveal(agent_user(), order.customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/desk/privacy/access-log/")


def test_the_access_log_is_read_only_in_admin(admin_client, order):
    log = reveal(agent_user(), order.customer)[1]
    assert admin_client.get("/admin/privacy/piiaccesslog/").status_code == 200
    assert admin_client.get(f"/admin/privacy/piiaccesslog/{log.pk}/change/").status_code == 200
    assert admin_client.get("/admin/privacy/piiaccesslog/add/").status_code == 403
    response = admin_client.post(f"/admin/privacy/piiaccesslog/{log.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert PiiAccessLog.objects.filter(pk=log.pk).exists()


def test_supervisors_hold_the_permission_to_view_the_log_in_admin():
    supervisor = supervisor_user()
    assert supervisor.has_perm("privacy.view_piiaccesslog")
    assert not agent_user().has_perm("privacy.view_piiaccesslog")
    assert not supervisor.has_perm("privacy.change_piiaccesslog")
