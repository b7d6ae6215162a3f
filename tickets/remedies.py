"""Remedies a case grants the customer (a refund for a complaint), carried out by the app that
owns them.

The case apps are neighbours and do not import one another: the app that carries a remedy out
registers its executor here from its ``AppConfig.ready()``, and the case asks for it by kind.
The executor runs in the caller's transaction and raises the caller's domain errors as its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models

from csplatform.actors import Actor
from orders.models import Order

from .models import Ticket

REFUND = "refund"


class RefundGrounds(models.TextChoices):
    """Why the customer is refunded: the merchant's fault, which the refund's own rules weigh
    (a warranty window rather than the no-reason window)."""

    QUALITY = "quality"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    NOT_AS_DESCRIBED = "not_as_described"


@dataclass(frozen=True)
class RefundRemedy:
    """Pay ``amount`` back on ``order``; ``ticket`` is the case's, which the refund may be
    handled on."""

    order: Order
    amount: Decimal
    grounds: RefundGrounds
    description: str
    actor: Actor
    ticket: Ticket | None
    now: datetime


@dataclass(frozen=True)
class RemedyOutcome:
    """The row that carries the remedy out (for the case to link to) and its public reference
    (for the case's timeline)."""

    # A model instance of the executor's app, for the case's foreign key to it: the case cannot
    # import that app to name its type.
    record: Any
    reference: str


RemedyExecutor = Callable[[RefundRemedy], RemedyOutcome]

_executors: dict[str, RemedyExecutor] = {}


def remedy_executor_register(*, kind: str, executor: RemedyExecutor) -> None:
    """Carry out remedies of ``kind`` with ``executor`` (registering a kind again replaces it)."""
    _executors[kind] = executor


def remedy_execute(*, kind: str, remedy: RefundRemedy) -> RemedyOutcome:
    """Carry the remedy out now, in the caller's transaction."""
    try:
        executor = _executors[kind]
    except KeyError:
        raise ImproperlyConfigured(f"No installed app carries out {kind!r} remedies.") from None
    return executor(remedy)
