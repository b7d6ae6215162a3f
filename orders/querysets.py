from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Prefetch

from .choices import OrderStatus


class OrderQuerySet(models.QuerySet):
    def with_related(self) -> OrderQuerySet:
        """Everything the order page and the order API show, in a fixed number of queries."""
        # The related models by relation name: models.py builds its managers from this module.
        shipment = self.model._meta.get_field("shipments").related_model
        order_exception = self.model._meta.get_field("exceptions").related_model
        return self.select_related("customer").prefetch_related(
            "lines",
            "payments",
            Prefetch("shipments", queryset=shipment.objects.prefetch_related("events")),
            "events",
            Prefetch("exceptions", queryset=order_exception.objects.select_related("resolved_by")),
        )

    def unpaid_placed_before(self, moment: datetime) -> OrderQuerySet:
        return self.filter(status=OrderStatus.PENDING_PAYMENT, placed_at__lte=moment)

    def unshipped_paid_before(self, moment: datetime) -> OrderQuerySet:
        return self.filter(
            status__in=(OrderStatus.PAID, OrderStatus.PROCESSING), paid_at__lte=moment
        )


class OrderExceptionQuerySet(models.QuerySet):
    def open(self) -> OrderExceptionQuerySet:
        return self.filter(resolved_at__isnull=True)
