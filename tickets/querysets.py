from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Q


class TicketQuerySet(models.QuerySet):
    def open(self) -> TicketQuerySet:
        from .choices import OPEN_STATUSES

        return self.filter(status__in=OPEN_STATUSES)

    def in_teams(self, team_ids) -> TicketQuerySet:
        return self.filter(team_id__in=team_ids)

    def due_before(self, moment: datetime) -> TicketQuerySet:
        return self.filter(next_due_at__lte=moment)

    def search(self, text: str) -> TicketQuerySet:
        """Ticket number, subject, order number, customer name or phone."""
        text = text.strip()
        if not text:
            return self
        match = (
            Q(subject__icontains=text)
            | Q(order__number=text)
            | Q(order__number=text.upper())
            | Q(customer__phone=text)
            | Q(customer__name__startswith=text)
            | Q(customer__external_id=text)
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
