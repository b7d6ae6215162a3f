from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q

from csplatform.privacy import email_blind_index, phone_blind_index
from orders.models import Customer, Order

from .choices import OPEN_STATUSES


class TicketQuerySet(models.QuerySet):
    def open(self) -> TicketQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def of_storefront(self, storefront) -> TicketQuerySet:
        """The storefront's tickets: those of its customers."""
        return self.filter(customer__storefront=storefront)

    def in_teams(self, team_ids) -> TicketQuerySet:
        return self.filter(team_id__in=team_ids)

    def due_before(self, moment: datetime) -> TicketQuerySet:
        return self.filter(next_due_at__lte=moment)

    def search(self, text: str) -> TicketQuerySet:
        """Ticket number, subject, order number, customer name or phone.

        The matching customers and orders are looked up first, each through its own indexes,
        so that the tickets are found through indexes too (subject, customer, order, number):
        one condition ORed across the three joined tables makes the database read them all.
        """
        text = text.strip()
        if not text:
            return self
        # Phones and e-mails are encrypted: they are matched exactly through their blind indexes.
        customers = Customer.objects.filter(
            Q(phone_index=phone_blind_index(text) or "-")
            | Q(email_index=email_blind_index(text) or "-")
            | Q(name__startswith=text)
            | Q(external_id=text)
        ).values_list("id", flat=True)
        orders = Order.objects.filter(number__in={text, text.upper()}).values_list("id", flat=True)
        match = (
            Q(subject__icontains=text)
            | Q(customer_id__in=list(customers))
            | Q(order_id__in=list(orders))
        )
        upper = text.upper()
        if upper.startswith("T-"):
            match |= Q(number=upper)
        elif text.isdigit() and len(text) <= 9:
            match |= Q(number=f"T-{int(text):06d}")
        return self.filter(match)

    def with_related(self) -> TicketQuerySet:
        """What a queue row shows, loaded for the whole page at once."""
        return self.select_related("customer", "assignee", "team", "order").prefetch_related("tags")
