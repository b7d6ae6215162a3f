"""The orders app's rows, locked for the apps above that write what hangs under them.

Other apps never lock these rows themselves: they ask here, first, in the order of
``csplatform.locks`` (customer → order → order exception), then lock their own rows. A row is
locked ``FOR NO KEY UPDATE`` to be changed (the rows others insert under it do not wait); the
customer ``FOR UPDATE``, as its erasure and the count of its complaints always have.
"""

from __future__ import annotations

from .models import Customer, Order, OrderException


def customer_lock(*, customer_id: int) -> Customer:
    """The customer, locked: what is counted or erased per customer is done under it."""
    return Customer.objects.select_for_update().get(pk=customer_id)


def customer_orders_lock(*, customer_id: int) -> list[Order]:
    """Every order of a (locked) customer, locked in ascending id."""
    return list(Order.objects.select_for_update().filter(customer_id=customer_id).order_by("pk"))


def order_lock(*, order_id: int) -> Order:
    """The order, locked before its refunds, returns and line counters change."""
    return Order.objects.select_for_update(no_key=True).get(pk=order_id)


def order_exception_lock(*, exception_id: int) -> OrderException | None:
    """The exception, locked (its order and customer read along, not locked); ``None`` when
    there is no such exception."""
    return (
        OrderException.objects.select_for_update(of=("self",), no_key=True)
        .select_related("order__customer")
        .filter(pk=exception_id)
        .first()
    )
