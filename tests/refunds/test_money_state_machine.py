"""Random sequences of requests, decisions, refunds and payouts never break the money rules.

After every step: the refunds that did not fail add up to the order's ``refunded_amount``,
which never exceeds what was paid; each refund is paid out at most once (and a paid one
exactly once, for its amount); no request refunds more than it asked; no line has more units
returned or claimed than were bought. Each example runs in a savepoint rolled back at its end.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from csplatform.errors import DomainError
from orders.models import Order, OrderLine
from refunds import payouts, services
from refunds.choices import RefundStatus, ReturnReason, ReturnStatus, ReturnType
from refunds.gateways import GatewayUnavailable
from refunds.models import GatewayPayout, Refund, ReturnRequest
from refunds.rules import quantities_claimed
from refunds.timers import returns_auto_approve, returns_close_unreturned, returns_refund_breaches
from tests.factories import agent_user, supervisor_user

from .helpers import DAY, DELIVERED, STOREFRONT, delivered_order

LINES = [
    {"sku": "A", "unit_price": "220.00", "quantity": 2},
    {"sku": "B", "unit_price": "1300.00", "quantity": 1},
    {"sku": "C", "unit_price": "90.50", "quantity": 3},
]
SKUS = [line["sku"] for line in LINES]
PICK = st.integers(min_value=0, max_value=1000)
MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1400"), places=2)


class DownGateway:
    def refund(self, **kwargs):
        raise GatewayUnavailable("provider down")


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self, agent, boss):
        super().__init__()
        self.agent, self.boss = agent, boss
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        # 440 + 1300 + 271.50 + 10 shipping − 1200 discount: 821.50 paid, far less than the
        # goods are worth, so that requests compete for the money; B needs a supervisor.
        self.order = delivered_order(LINES, discount=Decimal("1200.00"))
        self.now = DELIVERED + DAY
        self.requests: list[ReturnRequest] = []
        self.refunds: list[int] = []

    def teardown(self):
        transaction.set_rollback(True)
        self.savepoint.__exit__(None, None, None)

    def attempt(self, action, *args, **kwargs):
        """Run a service; a refusal by the rules or the lifecycle is a fine outcome."""
        try:
            return action(*args, **kwargs)
        except DomainError:
            return None

    def pick(self, index: int) -> ReturnRequest:
        return self.requests[index % len(self.requests)]

    def who(self, supervisor: bool):
        return self.boss if supervisor else self.agent

    def note_refunds(self) -> None:
        self.refunds = list(
            Refund.objects.filter(order=self.order).order_by("id").values_list("id", flat=True)
        )

    # --- Steps --------------------------------------------------------------------------------

    @initialize(
        first=st.lists(
            st.tuples(
                st.sampled_from(ReturnType.values),
                st.sampled_from([ReturnReason.QUALITY, ReturnReason.SIZE_FIT, "no_reason_7d"]),
                st.sampled_from(SKUS),
            ),
            min_size=2,
            max_size=4,
        )
    )
    def some_requests_to_start_with(self, first):
        for type, reason, sku in first:
            self.create(type=type, reason=reason, lines=[(sku, 1)], amount=None)

    @rule(
        type=st.sampled_from(ReturnType.values),
        reason=st.sampled_from(ReturnReason.values),
        lines=st.lists(
            st.tuples(st.sampled_from(SKUS), st.integers(min_value=1, max_value=2)),
            min_size=1,
            max_size=3,
            unique_by=lambda line: line[0],
        ),
        amount=st.one_of(st.none(), st.none(), MONEY),  # mostly the default amount
    )
    def create(self, type, reason, lines, amount):
        request = self.attempt(
            services.return_request_create,
            order=self.order,
            type=type,
            reason=reason,
            lines=lines,
            amount=amount,
            actor=STOREFRONT,
            now=self.now,
        )
        if request is not None:
            self.requests.append(request)
        self.note_refunds()

    @precondition(lambda self: self.requests)
    @rule(index=PICK, supervisor=st.booleans())
    def approve(self, index, supervisor):
        self.attempt(
            services.return_request_approve,
            request=self.pick(index),
            by_user=self.who(supervisor),
            now=self.now,
        )
        self.note_refunds()

    @precondition(lambda self: self.requests)
    @rule(index=PICK)
    def reject(self, index):
        self.attempt(
            services.return_request_reject,
            request=self.pick(index),
            by_user=self.agent,
            reason="No",
            now=self.now,
        )

    @precondition(lambda self: self.requests)
    @rule(index=PICK)
    def appeal(self, index):
        self.attempt(
            services.return_request_appeal,
            request=self.pick(index),
            description="Please look again",
            actor=STOREFRONT,
            now=self.now,
        )

    @precondition(lambda self: self.requests)
    @rule(index=PICK)
    def cancel(self, index):
        self.attempt(
            services.return_request_cancel, request=self.pick(index), actor=STOREFRONT, now=self.now
        )

    @precondition(lambda self: self.requests)
    @rule(index=PICK)
    def ship_back(self, index):
        self.attempt(
            services.return_request_ship_back,
            request=self.pick(index),
            carrier="SF",
            tracking_number="SF1",
            actor=STOREFRONT,
            now=self.now,
        )

    @precondition(lambda self: self.requests)
    @rule(index=PICK)
    def receive(self, index):
        self.attempt(
            services.return_request_receive,
            request=self.pick(index),
            by_user=self.agent,
            now=self.now,
        )

    @precondition(lambda self: self.requests)
    @rule(index=PICK, passed=st.booleans())
    def inspect(self, index, passed):
        self.attempt(
            services.return_request_inspect,
            request=self.pick(index),
            by_user=self.agent,
            passed=passed,
            now=self.now,
        )

    @precondition(lambda self: self.requests)
    @rule(index=PICK, amount=MONEY, supervisor=st.booleans())
    def refund(self, index, amount, supervisor):
        self.attempt(
            services.refund_create,
            request=self.pick(index),
            amount=amount,
            by_user=self.who(supervisor),
            now=self.now,
        )
        self.note_refunds()

    @precondition(lambda self: self.refunds)
    @rule(index=PICK, gateway_up=st.booleans())
    def payout(self, index, gateway_up):
        self.pay_out(self.refunds[index % len(self.refunds)], gateway_up)

    def pay_out(self, refund_id, gateway_up):
        if gateway_up:
            payouts.refund_payout(refund_id=refund_id, now=self.now)
            return
        with (
            mock.patch.object(payouts, "gateway", DownGateway),
            contextlib.suppress(GatewayUnavailable),
        ):
            payouts.refund_payout(refund_id=refund_id, now=self.now)

    @precondition(lambda self: self.requests)
    @rule(index=PICK, steps=st.integers(min_value=1, max_value=8), gateway_up=st.booleans())
    def along_the_usual_path(self, index, steps, gateway_up):
        """Move a request along its usual path, so that sequences reach refunds and payouts."""
        for _ in range(steps):
            self.next_natural_step(index, gateway_up)

    def next_natural_step(self, index, gateway_up):
        request = ReturnRequest.objects.get(pk=self.pick(index).pk)
        status = request.status
        if status == ReturnStatus.REQUESTED:
            self.approve(index, supervisor=True)
        elif status == ReturnStatus.AWAITING_RETURN and request.return_shipped_at is None:
            self.ship_back(index)
        elif status == ReturnStatus.AWAITING_RETURN:
            self.receive(index)
        elif status == ReturnStatus.RECEIVED:
            self.inspect(index, passed=True)
        elif status == ReturnStatus.INSPECTED and request.type == ReturnType.EXCHANGE:
            self.attempt(
                services.return_request_exchange, request=request, by_user=self.boss, now=self.now
            )
        elif status in (ReturnStatus.INSPECTED, ReturnStatus.REFUNDED):
            live = request.refunds.exclude(status=RefundStatus.FAILED)
            left = request.requested_amount - sum((r.amount for r in live), Decimal("0"))
            if left > 0:
                self.refund(index, amount=left, supervisor=True)
            for refund in request.refunds.filter(status=RefundStatus.PENDING):
                self.pay_out(refund.pk, gateway_up)

    @rule(hours=st.integers(min_value=1, max_value=48))
    def time_passes_and_timers_run(self, hours):
        self.now += timedelta(hours=hours)
        returns_auto_approve(now=self.now)
        returns_close_unreturned(now=self.now)
        returns_refund_breaches(now=self.now)
        self.note_refunds()

    # --- Invariants ---------------------------------------------------------------------------

    @invariant()
    def refunds_that_did_not_fail_are_what_the_order_counts_and_at_most_what_was_paid(self):
        order = Order.objects.get(pk=self.order.pk)
        live = Refund.objects.filter(order=order).exclude(status=RefundStatus.FAILED)
        total = sum((r.amount for r in live), Decimal("0.00"))
        assert order.refunded_amount == total
        assert order.refunded_amount <= order.paid_amount

    @invariant()
    def each_refund_is_paid_out_at_most_once(self):
        for refund in Refund.objects.filter(order=self.order):
            payouts = list(GatewayPayout.objects.filter(idempotency_key=refund.idempotency_key))
            assert len(payouts) <= 1
            if refund.status == RefundStatus.SUCCEEDED:
                assert len(payouts) == 1
                assert payouts[0].amount == refund.amount
                assert payouts[0].reference == refund.provider_reference
            if refund.status == RefundStatus.FAILED:
                assert payouts == []

    @invariant()
    def no_request_refunds_more_than_it_asked(self):
        for request in ReturnRequest.objects.filter(order=self.order):
            live = request.refunds.exclude(status=RefundStatus.FAILED)
            assert sum((r.amount for r in live), Decimal("0")) <= request.requested_amount

    @invariant()
    def no_line_has_more_units_returned_or_claimed_than_were_bought(self):
        held = quantities_claimed(self.order)
        for line in OrderLine.objects.filter(order=self.order):
            assert 0 <= line.quantity_returned <= line.quantity
            assert line.quantity_returned + held.get(line.pk, 0) <= line.quantity


@pytest.mark.django_db
def test_money_invariants_hold_after_every_step_of_random_sequences():
    agent, boss = agent_user(), supervisor_user()
    # Two failed calls give a payout up, so that random sequences reach that path too.
    with mock.patch.object(payouts, "MAX_PAYOUT_ATTEMPTS", 2):
        run_state_machine_as_test(
            lambda: MoneyMachine(agent, boss),
            settings=settings(
                max_examples=25,
                stateful_step_count=20,
                deadline=None,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
