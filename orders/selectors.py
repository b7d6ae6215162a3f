"""Reads of orders that pages and APIs share."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from csplatform.privacy import email_blind_index, phone_blind_index

from .models import Order, OrderException


def order_search(*, q: str = "", status: str = "", with_open_exception: bool = False) -> QuerySet:
    """Orders matching an agent's search, newest first, with what the order list shows.

    ``q`` matches an order number or customer id exactly, a customer's phone or e-mail exactly
    (through their blind indexes: both are stored encrypted), or a customer name by prefix.
    Each order carries ``open_exception_list``.
    """
    orders = Order.objects.select_related("customer").prefetch_related(
        Prefetch(
            "exceptions",
            queryset=OrderException.objects.open(),
            to_attr="open_exception_list",
        )
    )
    q = q.strip()
    if q:
        orders = orders.filter(
            Q(number=q)
            | Q(number=q.upper())
            | Q(customer__external_id=q)
            | Q(customer__phone_index=phone_blind_index(q) or "-")
            | Q(customer__email_index=email_blind_index(q) or "-")
            | Q(customer__name__startswith=q)
        )
    if status:
        orders = orders.filter(status=status)
    if with_open_exception:
        orders = orders.filter(Exists(OrderException.objects.open().filter(order=OuterRef("pk"))))
    return orders.order_by("-placed_at", "-id")
