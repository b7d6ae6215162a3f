from __future__ import annotations

from datetime import datetime

from django.db import models

from .choices import ComplaintStatus


class ComplaintQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status=ComplaintStatus.CLOSED)

    def of_storefront(self, storefront):
        """The storefront's complaints: those of its customers."""
        return self.filter(customer__storefront=storefront)

    def of_customer_since(self, customer_id: int, since: datetime):
        return self.filter(customer_id=customer_id, created_at__gte=since)

    def confirmation_overdue(self, now: datetime):
        return self.filter(
            status__in=(ComplaintStatus.AWAITING_CONFIRMATION, ComplaintStatus.RESOLVED),
            confirmation_due_at__lte=now,
        )

    def with_related(self):
        """What lists show: customer, order, ticket with its team and assignee."""
        return self.select_related(
            "customer", "order", "ticket", "ticket__team", "ticket__assignee"
        )
