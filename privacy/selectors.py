"""Reads of the personal-data access log."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import PiiAccessLog


def pii_access_log(*, customer_external_id: str = "", username: str = "") -> QuerySet:
    """Reveals, newest first, with who, whose and from where loaded for a whole page."""
    rows = PiiAccessLog.objects.select_related("user", "customer", "order", "ticket")
    if customer_external_id:
        rows = rows.filter(customer__external_id=customer_external_id)
    if username:
        rows = rows.filter(user__username=username)
    return rows.order_by("-at", "-id")
