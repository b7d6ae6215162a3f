"""Payment gateways that pay refunds out. A real provider plugs in behind ``PaymentGateway``.

Every call carries an idempotency key (the refund's id): a provider pays a key once and
answers a repeat with the first payout, which is what makes a retried payout safe.
"""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import GatewayPayout


class GatewayUnavailable(Exception):
    """A temporary failure: the payout may be retried with the same key."""


@dataclass(frozen=True)
class Payout:
    reference: str
    repeated: bool  # the provider had already paid this key


class PaymentGateway(Protocol):
    def refund(
        self, *, idempotency_key: str, amount: Decimal, currency: str, order_number: str
    ) -> Payout: ...


class SimulatedGateway:
    """A stand-in provider with its own ledger, configurable latency and failure rate.

    ``REFUND_GATEWAY_LATENCY_MS`` and ``REFUND_GATEWAY_FAILURE_RATE`` (0–1) in settings.
    """

    def __init__(self, latency_ms: float | None = None, failure_rate: float | None = None):
        self.latency_ms = settings.REFUND_GATEWAY_LATENCY_MS if latency_ms is None else latency_ms
        self.failure_rate = (
            settings.REFUND_GATEWAY_FAILURE_RATE if failure_rate is None else failure_rate
        )

    def refund(self, *, idempotency_key, amount, currency, order_number) -> Payout:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        if self.failure_rate and random.random() < self.failure_rate:
            raise GatewayUnavailable("simulated provider outage")
        existing = GatewayPayout.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return Payout(reference=existing.reference, repeated=True)
        try:
            with transaction.atomic():
                payout = GatewayPayout.objects.create(
                    idempotency_key=idempotency_key,
                    reference="SIM" + secrets.token_hex(8).upper(),
                    amount=amount,
                    currency=currency,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            payout = GatewayPayout.objects.get(idempotency_key=idempotency_key)
            return Payout(reference=payout.reference, repeated=True)
        return Payout(reference=payout.reference, repeated=False)


def gateway() -> PaymentGateway:
    return import_string(settings.REFUND_GATEWAY)()
