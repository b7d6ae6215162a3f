"""NPS after an order completes (once per customer in 90 days) and the complaint-satisfaction
survey when a complaint closes."""

from decimal import Decimal

import pytest
from django.core import mail

from complaints.signals import complaint_closed
from csplatform.actors import Actor
from csplatform.models import Storefront
from orders.choices import OrderStatus
from orders.services import LineInput, order_event_record, order_upsert
from surveys.choices import InvitationReason, InvitationStatus, SurveyKind
from surveys.models import SurveyInvitation
from tests.factories import ComplaintFactory, CustomerFactory, OrderFactory
from tests.surveys.helpers import DAY, HOUR, T0, Desk, csat_of, solve, sweep
from tickets.choices import TicketKind

pytestmark = pytest.mark.django_db

STOREFRONT = Actor(kind="api_key", label="storefront")


def complete(order, at, capture) -> None:
    with capture(execute=True):
        order_event_record(
            number=order.number, type="completed", at=at, payload={}, actor=STOREFRONT, now=at
        )


def nps_of(order):
    return SurveyInvitation.objects.filter(kind=SurveyKind.NPS, order=order).first()


def test_a_completed_order_gets_one_nps_survey_a_day_later(django_capture_on_commit_callbacks):
    order = OrderFactory(status=OrderStatus.DELIVERED)
    complete(order, T0, django_capture_on_commit_callbacks)
    complete(order, T0, django_capture_on_commit_callbacks)  # the storefront retries

    assert SurveyInvitation.objects.filter(order=order).count() == 1
    invitation = nps_of(order)
    assert (invitation.status, invitation.send_after) == (InvitationStatus.SCHEDULED, T0 + DAY)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    assert nps_of(order).status == InvitationStatus.SENT
    assert order.number in mail.outbox[0].body


def test_other_order_statuses_do_not_ask_for_nps(django_capture_on_commit_callbacks):
    order = OrderFactory(status=OrderStatus.SHIPPED)
    with django_capture_on_commit_callbacks(execute=True):
        order_event_record(
            number=order.number, type="delivered", at=T0, payload={}, actor=STOREFRONT, now=T0
        )
    assert nps_of(order) is None


def test_an_order_first_seen_already_completed_is_not_surveyed(
    django_capture_on_commit_callbacks,
):
    # An import of past orders must not send surveys about them.
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(
            storefront=Storefront.default(),
            number="SO-IMPORT-1",
            channel="web",
            customer={"external_id": "C-IMPORT", "name": "李娜"},
            currency="CNY",
            lines=[LineInput(sku="A", name="袜子", quantity=1, unit_price=Decimal("10.00"))],
            shipping_fee=Decimal("0"),
            discount=Decimal("0"),
            total=Decimal("10.00"),
            status=OrderStatus.COMPLETED,
            placed_at=T0,
            shipping_address={},
            actor=STOREFRONT,
            now=T0,
        )
    assert not SurveyInvitation.objects.exists()


def test_a_customer_gets_at_most_one_nps_in_90_days(django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    first, second, third = (
        OrderFactory(customer=customer, status=OrderStatus.DELIVERED) for _ in range(3)
    )
    complete(first, T0, django_capture_on_commit_callbacks)
    complete(second, T0 + 30 * DAY, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    sweep(T0 + 31 * DAY, django_capture_on_commit_callbacks)

    assert nps_of(first).sent_at == T0 + DAY
    assert (nps_of(second).status, nps_of(second).reason) == (
        InvitationStatus.SKIPPED,
        InvitationReason.COOLDOWN,
    )
    complete(third, T0 + 90 * DAY, django_capture_on_commit_callbacks)
    sweep(T0 + 91 * DAY - HOUR, django_capture_on_commit_callbacks)
    assert nps_of(third).status == InvitationStatus.SCHEDULED
    sweep(T0 + 91 * DAY, django_capture_on_commit_callbacks)
    assert nps_of(third).status == InvitationStatus.SENT


def test_nps_and_csat_cooldowns_are_separate(django_capture_on_commit_callbacks):
    desk = Desk()
    customer = CustomerFactory()
    order = OrderFactory(customer=customer, status=OrderStatus.DELIVERED)
    ticket = desk.ticket(customer=customer)
    complete(order, T0, django_capture_on_commit_callbacks)
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)

    assert nps_of(order).status == InvitationStatus.SENT
    assert csat_of(ticket).status == InvitationStatus.SENT


# --- Complaint satisfaction -------------------------------------------------------------------


def _closed_complaint(ticket):
    return ComplaintFactory(
        number="CP-000777",
        customer=ticket.customer,
        ticket=ticket,
        channel=ticket.channel,
        description="快递员态度很差",
    )


def test_a_closed_complaint_gets_its_own_satisfaction_survey(django_capture_on_commit_callbacks):
    desk = Desk()
    ticket = desk.ticket(kind=TicketKind.COMPLAINT, channel="phone")
    complaint = _closed_complaint(ticket)
    for _ in range(2):  # a repeated signal schedules nothing more
        complaint_closed.send(sender=type(complaint), complaint_id=complaint.pk, at=T0)

    invitation = SurveyInvitation.objects.get(complaint_id=complaint.pk)
    assert invitation.kind == SurveyKind.COMPLAINT
    assert invitation.complaint_number == "CP-000777"
    assert (invitation.agent, invitation.team, invitation.channel) == (
        desk.agent,
        desk.team,
        "phone",
    )
    assert invitation.send_after == T0
    sweep(T0, django_capture_on_commit_callbacks)
    assert SurveyInvitation.objects.get(pk=invitation.pk).status == InvitationStatus.SENT
    assert "CP-000777" in mail.outbox[0].body


def test_complaint_surveys_do_not_count_against_the_csat_cooldown(
    django_capture_on_commit_callbacks,
):
    desk = Desk()
    customer = CustomerFactory()
    complaint = _closed_complaint(desk.ticket(customer=customer, kind=TicketKind.COMPLAINT))
    complaint_closed.send(sender=type(complaint), complaint_id=complaint.pk, at=T0)
    ticket = desk.ticket(customer=customer)
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)

    assert csat_of(ticket).status == InvitationStatus.SENT
    assert len(mail.outbox) == 2
