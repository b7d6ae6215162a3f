"""The tables an erasure reaches: every registered app's rows of a customer
(``csplatform.erasure``), each app scrubbing its own."""

from __future__ import annotations

from csplatform.erasure import LinkedTable, customer_linked_tables
from orders.models import Customer


def linked_tables() -> tuple[LinkedTable, ...]:
    """Every table that holds rows of a customer, with its free-text and JSON columns."""
    return customer_linked_tables(Customer)
