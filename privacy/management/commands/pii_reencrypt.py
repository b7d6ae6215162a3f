"""Re-encrypt customers' personal data with the first key, and recompute the blind indexes.

Run after putting a new key first in PII_ENCRYPTION_KEYS (or a new SECRET_KEY, with the old one
in SECRET_KEY_FALLBACKS), or after changing PII_BLIND_INDEX_KEY; then the old keys can go.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from csplatform.privacy import email_blind_index, phone_blind_index
from orders.models import Customer, Order

BATCH = 2000


class Command(BaseCommand):
    help = "Re-encrypt customers' phones, e-mails and shipping addresses with the current key."

    def handle(self, *args, **options):
        customers = self._rewrite(Customer, ["phone", "email", "phone_index", "email_index"])
        orders = self._rewrite(Order, ["shipping_address"])
        self.stdout.write(f"Re-encrypted {customers:,} customers and {orders:,} orders.")

    def _rewrite(self, model, fields: list[str]) -> int:
        done, last = 0, 0
        while True:
            with transaction.atomic():
                batch = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last)
                    .order_by("pk")
                    .only("pk", *fields)[:BATCH]
                )
                if not batch:
                    return done
                if model is Customer:
                    for customer in batch:
                        customer.phone_index = phone_blind_index(customer.phone)
                        customer.email_index = email_blind_index(customer.email)
                model.objects.bulk_update(batch, fields)
            done += len(batch)
            last = batch[-1].pk
