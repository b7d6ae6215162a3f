from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Prefetch


class OrderQuerySet(models.QuerySet):
    def with_related(self) -> OrderQuerySet:
        """Everything the order page and the order API show, in a fixed number of queries."""
        from .models import OrderException, Shipment

        return self.select_related("customer").prefetch_related(
            "lines",
            "payments",
            Prefetch("shipments", queryset=Shipment.objects.prefetch_related("events")),
            "events",
            Prefetch("exceptions", queryset=OrderException.objects.select_related("resolved_by")),
        )

    def unpaid_placed_before(self, moment: datetime) -> OrderQuerySet:
        from .choices import OrderStatus

        return self.filter(status=OrderStatus.PENDING_PAYMENT, placed_at__lte=moment)

    def unshipped_paid_before(self, moment: datetime) -> OrderQuerySet:
        from .choices import OrderStatus

        return self.filter(
            status__in=(OrderStatus.PAID, OrderStatus.PROCESSING), paid_at__lte=moment
        )


class OrderExceptionQuerySet(models.QuerySet):
    def open(self) -> OrderExceptionQuerySet:
        return self.filter(resolved_at__isnull=True)
