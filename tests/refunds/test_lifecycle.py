"""The return request lifecycle: the transition table and every service that moves it."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from csplatform.api.errors import error_status
from csplatform.errors import ConflictError, InvalidInput
from orders.models import OrderLine
from refunds.choices import ReturnStatus
from refunds.models import RefundRules, ReturnEvent
from refunds.rules import ReturnRefused
from refunds.services import (
    NeedsSupervisor,
    refund_create,
    return_request_appeal,
    return_request_approve,
    return_request_cancel,
    return_request_exchange,
    return_request_inspect,
    return_request_receive,
    return_request_reject,
    return_request_ship_back,
)
from refunds.transitions import ALLOWED_TRANSITIONS, ReturnTransitionNotAllowed, check_transition
from tests.factories import BusinessCalendarFactory, agent_user, supervisor_user
from tickets.models import BusinessCalendar, BusinessHours, Holiday
from tickets.sla.china import mainland_china_year
from tickets.sla.config import calendar_days_add

from .helpers import DAY, DELIVERED, SHANGHAI, STOREFRONT, delivered_order, file_request

pytestmark = pytest.mark.django_db

S = ReturnStatus

# The lifecycle as the product defines it, written out by hand (its statuses in lifecycle
# order): the code's table must match.
EXPECTED = {
    S.REQUESTED: {S.APPROVED, S.REJECTED, S.CANCELLED},
    S.APPROVED: {S.AWAITING_RETURN, S.REFUNDED, S.CANCELLED},
    S.AWAITING_RETURN: {S.RECEIVED, S.CANCELLED, S.CLOSED},
    S.RECEIVED: {S.INSPECTED},
    S.INSPECTED: {S.REFUNDED, S.EXCHANGED, S.REJECTED},
    S.REJECTED: {S.REQUESTED, S.CLOSED},
    S.REFUNDED: {S.CLOSED},
    S.EXCHANGED: {S.CLOSED},
    S.CANCELLED: set(),
    S.CLOSED: set(),
}


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition_pair_is_allowed_exactly_as_the_table_says(current, target):
    if target in EXPECTED[current]:
        check_transition(current, target)
    else:
        with pytest.raises(ReturnTransitionNotAllowed) as refused:
            check_transition(current, target)
        assert error_status(refused.value) == 409
        assert refused.value.extra["allowed"] == sorted(EXPECTED[current], key=list(EXPECTED).index)


def test_the_table_covers_every_status():
    assert set(ALLOWED_TRANSITIONS) == set(S)


def waiting(order=None, **kwargs):
    """A request that is not approved automatically: size or fit is not on the list."""
    request = file_request(order or delivered_order(), reason="size_fit", **kwargs)
    assert request.status == S.REQUESTED
    return request


def events(request, type=None):
    rows = ReturnEvent.objects.filter(request=request)
    return list(rows.filter(type=type) if type else rows)


# --- Approval ----------------------------------------------------------------------------------


def test_approving_a_return_records_who_when_and_why_and_waits_for_the_goods_seven_days():
    request = waiting()
    agent = agent_user()
    at = DELIVERED + 2 * DAY
    return_request_approve(request=request, by_user=agent, reason="Unworn", now=at)
    request.refresh_from_db()
    assert request.status == S.AWAITING_RETURN
    assert (request.decided_by, request.decided_at, request.decision_reason) == (
        agent,
        at,
        "Unworn",
    )
    assert request.respond_due_at is None
    assert request.return_due_at == at + 7 * DAY
    approved = [e for e in events(request, "status") if e.new_status == S.APPROVED]
    assert [(e.actor_user, e.reason, e.at) for e in approved] == [(agent, "Unworn", at)]


def test_an_agent_may_not_approve_above_the_supervisor_limit_but_proposes_it():
    order = delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])
    request = waiting(order, lines=[("TV", 1)])
    agent = agent_user()
    with pytest.raises(NeedsSupervisor) as refused:
        return_request_approve(request=request, by_user=agent, now=DELIVERED + DAY)
    assert error_status(refused.value) == 403
    request.refresh_from_db()
    assert request.status == S.REQUESTED
    assert request.proposed_by == agent
    assert len(events(request, "proposed")) == 1
    boss = supervisor_user()
    return_request_approve(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    request.refresh_from_db()
    assert request.status == S.AWAITING_RETURN
    assert request.decided_by == boss


def test_the_proposer_cannot_approve_their_own_proposal_even_as_supervisor():
    order = delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])
    request = waiting(order, lines=[("TV", 1)])
    agent = agent_user()
    with pytest.raises(NeedsSupervisor):
        return_request_approve(request=request, by_user=agent, now=DELIVERED + DAY)
    agent.groups.add(*supervisor_user().groups.all())
    del agent._cs_role
    with pytest.raises(NeedsSupervisor) as refused:
        return_request_approve(request=request, by_user=agent, now=DELIVERED + DAY)
    assert refused.value.code == "four_eyes"


def test_approving_a_request_that_is_no_longer_waiting_is_a_conflict_not_a_proposal():
    order = delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])
    request = waiting(order, lines=[("TV", 1)])
    return_request_reject(
        request=request, by_user=supervisor_user(), reason="Used", now=DELIVERED + DAY
    )
    with pytest.raises(ReturnTransitionNotAllowed):
        return_request_approve(request=request, by_user=agent_user(), now=DELIVERED + DAY)
    request.refresh_from_db()
    assert request.proposed_by is None


def test_approving_refund_only_refunds_at_once():
    request = waiting(type="refund_only", lines=[("TS-1", 1)])
    return_request_approve(request=request, by_user=agent_user(), now=DELIVERED + DAY)
    request.refresh_from_db()
    assert request.status == S.REFUNDED
    assert [r.amount for r in request.refunds.all()] == [Decimal("99.00")]
    assert request.order.refunded_amount == Decimal("99.00")


# --- Rejection and appeal ----------------------------------------------------------------------


def test_a_rejection_needs_a_reason_and_records_it():
    request = waiting()
    boss = supervisor_user()
    with pytest.raises(InvalidInput):
        return_request_reject(request=request, by_user=boss, reason="  ", now=DELIVERED + DAY)
    return_request_reject(request=request, by_user=boss, reason="Worn", now=DELIVERED + DAY)
    request.refresh_from_db()
    assert request.status == S.REJECTED
    assert (request.decided_by, request.decision_reason) == (boss, "Worn")


def rejected(**kwargs):
    request = waiting(**kwargs)
    return_request_reject(
        request=request, by_user=supervisor_user(), reason="Worn", now=DELIVERED + DAY
    )
    return request


def test_an_appeal_within_five_days_reopens_the_request_for_48_hours():
    request = rejected()
    at = DELIVERED + 6 * DAY  # exactly five days after the rejection
    return_request_appeal(request=request, description="Photos attached", actor=STOREFRONT, now=at)
    request.refresh_from_db()
    assert request.status == S.REQUESTED
    assert request.appeals == 1
    assert request.respond_due_at == at + timedelta(hours=48)
    assert request.decided_at is None
    assert request.decision_reason == ""
    assert "Photos attached" in request.description
    assert [e.reason for e in events(request, "appealed")] == ["Photos attached"]


def test_an_appeal_after_five_days_is_refused():
    request = rejected()
    with pytest.raises(ReturnRefused) as refused:
        return_request_appeal(
            request=request,
            description="Late",
            actor=STOREFRONT,
            now=DELIVERED + 6 * DAY + timedelta(seconds=1),
        )
    assert refused.value.code == "appeal_window_closed"


def test_an_appeal_needs_something_new_and_a_rejection():
    with pytest.raises(InvalidInput):
        return_request_appeal(
            request=rejected(), description="", actor=STOREFRONT, now=DELIVERED + 2 * DAY
        )
    with pytest.raises(ReturnTransitionNotAllowed):
        return_request_appeal(
            request=waiting(), description="Why?", actor=STOREFRONT, now=DELIVERED + 2 * DAY
        )


def test_an_appeal_rechecks_the_quantities_other_requests_claimed_since():
    order = delivered_order()
    request = rejected(order=order, lines=[("TS-1", 2)])
    file_request(order, lines=[("TS-1", 1)], now=DELIVERED + 2 * DAY)
    with pytest.raises(ReturnRefused) as refused:
        return_request_appeal(
            request=request, description="Please", actor=STOREFRONT, now=DELIVERED + 2 * DAY
        )
    assert refused.value.code == "quantity_exceeds_returnable"


def test_goods_that_fail_inspection_go_back_and_an_appeal_can_return_them_again():
    order = delivered_order()
    boss = supervisor_user()
    request = file_request(order, lines=[("TS-1", 2)])  # approved at once
    return_request_ship_back(
        request=request, carrier="SF", tracking_number="SF1", actor=STOREFRONT, now=DELIVERED
    )
    return_request_receive(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    return_request_inspect(
        request=request, by_user=boss, passed=False, notes="Stained", now=DELIVERED + 2 * DAY
    )
    request.refresh_from_db()
    line = OrderLine.objects.get(order=order)
    assert request.status == S.REJECTED
    assert request.decision_reason == "Stained"
    assert line.quantity_returned == 0  # sent back to the customer
    return_request_appeal(
        request=request, description="It was like that", actor=STOREFRONT, now=DELIVERED + 3 * DAY
    )
    return_request_approve(request=request, by_user=boss, now=DELIVERED + 3 * DAY)
    request.refresh_from_db()
    assert request.status == S.AWAITING_RETURN
    assert request.return_shipped_at is None
    return_request_receive(request=request, by_user=boss, now=DELIVERED + 5 * DAY)
    line.refresh_from_db()
    assert line.quantity_returned == 2


# --- Cancellation ------------------------------------------------------------------------------


def test_the_customer_cancels_before_a_decision():
    request = waiting()
    return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + DAY)
    request.refresh_from_db()
    assert request.status == S.CANCELLED
    assert request.respond_due_at is None


def test_the_customer_cancels_an_approved_return_before_sending_the_goods():
    request = file_request(delivered_order())
    assert request.status == S.AWAITING_RETURN
    return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + DAY)
    request.refresh_from_db()
    assert request.status == S.CANCELLED
    assert request.return_due_at is None


def test_cancelling_is_refused_once_the_goods_are_on_their_way_back():
    request = file_request(delivered_order())
    return_request_ship_back(
        request=request, carrier="SF", tracking_number="SF1", actor=STOREFRONT, now=DELIVERED
    )
    with pytest.raises(ConflictError) as refused:
        return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + DAY)
    assert refused.value.code == "goods_in_transit"
    return_request_receive(request=request, by_user=agent_user(), now=DELIVERED + 2 * DAY)
    with pytest.raises(ReturnTransitionNotAllowed):
        return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + 2 * DAY)


def test_cancelling_is_refused_after_a_refund():
    request = file_request(delivered_order(), type="refund_only", reason="quality")
    assert request.status == S.REFUNDED
    with pytest.raises(ConflictError) as refused:
        return_request_cancel(request=request, actor=STOREFRONT, now=DELIVERED + DAY)
    assert refused.value.code == "already_refunded"


def test_goods_can_only_be_sent_back_when_the_return_waits_for_them():
    with pytest.raises(ConflictError):
        return_request_ship_back(
            request=waiting(), carrier="SF", tracking_number="1", actor=STOREFRONT, now=DELIVERED
        )


# --- Receipt and the refund deadline in working days -------------------------------------------


def received_at(moment):
    request = file_request(delivered_order())
    return_request_receive(request=request, by_user=agent_user(), now=moment)
    request.refresh_from_db()
    return request


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Friday 16:00 → Monday, Tuesday, Wednesday 16:00.
        (
            datetime(2026, 3, 6, 16, 0, tzinfo=SHANGHAI),
            datetime(2026, 3, 11, 16, 0, tzinfo=SHANGHAI),
        ),
        # Monday 10:00 → Thursday 10:00.
        (
            datetime(2026, 3, 9, 10, 0, tzinfo=SHANGHAI),
            datetime(2026, 3, 12, 10, 0, tzinfo=SHANGHAI),
        ),
        # Saturday: counting starts on Monday at midnight.
        (
            datetime(2026, 3, 7, 11, 0, tzinfo=SHANGHAI),
            datetime(2026, 3, 12, 0, 0, tzinfo=SHANGHAI),
        ),
    ],
)
def test_receiving_the_goods_makes_the_refund_due_in_three_working_days(received, due):
    request = received_at(received)
    assert request.status == S.RECEIVED
    assert request.refund_due_at == due
    assert request.return_due_at is None


def test_the_refund_deadline_counts_whole_days_of_the_rules_calendar_and_skips_holidays():
    calendar = BusinessCalendar.objects.create(name="Warehouse", timezone="Asia/Shanghai")
    for weekday in range(5):
        BusinessHours.objects.create(
            calendar=calendar, weekday=weekday, opens="09:00", closes="18:00"
        )
    Holiday.objects.create(calendar=calendar, date=date(2026, 3, 9))
    rules = RefundRules.load()
    rules.working_calendar = calendar
    rules.save()
    # Friday 16:00; Monday is a holiday: Tuesday, Wednesday, Thursday → Thursday 16:00.
    request = received_at(datetime(2026, 3, 6, 16, 0, tzinfo=SHANGHAI))
    assert request.refund_due_at == datetime(2026, 3, 12, 16, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # Wednesday 30 September, the eve of 国庆: Thursday 8, Friday 9, Saturday 10 October.
        (
            datetime(2026, 9, 30, 16, 0, tzinfo=SHANGHAI),
            datetime(2026, 10, 10, 16, 0, tzinfo=SHANGHAI),
        ),
        # Friday 9 October: Saturday 10 (worked), Monday 12, Tuesday 13 October.
        (
            datetime(2026, 10, 9, 16, 0, tzinfo=SHANGHAI),
            datetime(2026, 10, 13, 16, 0, tzinfo=SHANGHAI),
        ),
        # Saturday 19 September: Sunday 20 (worked), Monday 21, Tuesday 22 → Wednesday 00:00.
        (
            datetime(2026, 9, 19, 11, 0, tzinfo=SHANGHAI),
            datetime(2026, 9, 23, 0, 0, tzinfo=SHANGHAI),
        ),
    ],
)
def test_the_refund_deadline_counts_make_up_working_days_as_working_days(received, due):
    """国庆 2026 as chinesecalendar has it: 1–7 October off, Sunday 20 September and Saturday
    10 October worked."""
    calendar = BusinessCalendarFactory(name="Warehouse")  # Monday to Friday 09:00–18:00
    china = mainland_china_year(2026)
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= set(china.workdays)
    assert {date(2026, 10, d) for d in range(1, 8)} <= set(china.holidays)
    calendar_days_add(calendar=calendar, holidays=china.holidays, workdays=china.workdays)
    rules = RefundRules.load()
    rules.working_calendar = calendar
    rules.save()

    order = delivered_order(delivered_at=received - 3 * DAY)
    request = file_request(order, now=received - 2 * DAY)
    return_request_receive(request=request, by_user=agent_user(), now=received)
    request.refresh_from_db()

    assert request.refund_due_at == due


def test_receiving_counts_the_units_as_returned():
    request = received_at(DELIVERED + 2 * DAY)
    assert OrderLine.objects.get(order=request.order).quantity_returned == 1


# --- Refunds -----------------------------------------------------------------------------------


def inspected(order=None, lines=(("TS-1", 2),), by=None):
    by = by or supervisor_user()
    request = file_request(order or delivered_order(), lines=lines, reason="quality")
    if request.status == S.REQUESTED:
        return_request_approve(request=request, by_user=by, now=DELIVERED + DAY)
    return_request_receive(request=request, by_user=by, now=DELIVERED + 2 * DAY)
    return_request_inspect(request=request, by_user=by, passed=True, now=DELIVERED + 2 * DAY)
    request.refresh_from_db()
    return request


def test_partial_refunds_add_up_to_at_most_the_request():
    request = inspected()
    agent = agent_user()
    assert request.requested_amount == Decimal("198.00")
    refund_create(request=request, amount=Decimal("50.00"), by_user=agent, now=DELIVERED + 3 * DAY)
    request.refresh_from_db()
    assert request.status == S.REFUNDED
    assert request.refund_due_at is None
    refund_create(request=request, amount=Decimal("148.00"), by_user=agent, now=DELIVERED + 3 * DAY)
    with pytest.raises(ReturnRefused) as refused:
        refund_create(
            request=request, amount=Decimal("0.01"), by_user=agent, now=DELIVERED + 3 * DAY
        )
    assert refused.value.code == "amount_exceeds_request"
    request.order.refresh_from_db()
    assert request.order.refunded_amount == Decimal("198.00")
    assert [e.type for e in events(request)][-1] == "refund_added"


def test_a_refund_waits_for_the_inspection():
    request = file_request(delivered_order())
    return_request_receive(request=request, by_user=agent_user(), now=DELIVERED + 2 * DAY)
    with pytest.raises(ConflictError) as refused:
        refund_create(
            request=request, amount=Decimal("10"), by_user=agent_user(), now=DELIVERED + 2 * DAY
        )
    assert refused.value.code == "invalid_state"


def test_splitting_a_refund_does_not_get_around_the_supervisor_limit():
    order = delivered_order([{"sku": "TV", "unit_price": "1500.00", "quantity": 1}])
    request = inspected(order, lines=[("TV", 1)])
    agent = agent_user()
    refund_create(request=request, amount=Decimal("600"), by_user=agent, now=DELIVERED + 3 * DAY)
    with pytest.raises(NeedsSupervisor):
        refund_create(
            request=request, amount=Decimal("600"), by_user=agent, now=DELIVERED + 3 * DAY
        )
    refund_create(
        request=request, amount=Decimal("900"), by_user=supervisor_user(), now=DELIVERED + 3 * DAY
    )


# --- Exchange ----------------------------------------------------------------------------------


def test_an_exchange_is_approved_received_inspected_and_sent_without_a_refund():
    boss = supervisor_user()
    request = file_request(delivered_order(), type="exchange", reason="size_fit")
    return_request_approve(request=request, by_user=boss, now=DELIVERED + DAY)
    return_request_ship_back(
        request=request, carrier="SF", tracking_number="1", actor=STOREFRONT, now=DELIVERED + DAY
    )
    return_request_receive(request=request, by_user=boss, now=DELIVERED + 2 * DAY)
    return_request_inspect(request=request, by_user=boss, passed=True, now=DELIVERED + 2 * DAY)
    with pytest.raises(ConflictError) as refused:
        refund_create(request=request, amount=Decimal("1"), by_user=boss, now=DELIVERED + 2 * DAY)
    assert refused.value.code == "not_refundable"
    return_request_exchange(request=request, by_user=boss, now=DELIVERED + 3 * DAY)
    request.refresh_from_db()
    assert request.status == S.EXCHANGED
    assert request.refund_due_at is None
    assert not request.refunds.exists()


def test_only_an_exchange_request_is_exchanged():
    with pytest.raises(ConflictError) as refused:
        return_request_exchange(request=inspected(), by_user=agent_user(), now=DELIVERED)
    assert refused.value.code == "not_exchange"


def test_a_service_refuses_a_step_out_of_order():
    with pytest.raises(ReturnTransitionNotAllowed):
        return_request_receive(request=waiting(), by_user=agent_user(), now=DELIVERED)
    with pytest.raises(ReturnTransitionNotAllowed):
        return_request_inspect(request=waiting(), by_user=agent_user(), passed=True, now=DELIVERED)
