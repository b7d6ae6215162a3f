"""Revealing and erasing customers' personal data."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.enqueue import enqueue_or_run_on_commit
from csplatform.erasure import (
    PersonalData,
    Scrubber,
    StoredFile,
    customer_copies_erase,
    customer_rows_erase,
)
from csplatform.errors import ConflictError, InvalidInput
from csplatform.privacy import mask_address
from orders.locks import customer_lock, customer_orders_lock
from orders.models import Customer, Order
from orders.services import customer_personal_data_replace, orders_shipping_addresses_set
from tickets.models import Ticket

from .choices import ErasureTrigger, PiiField, RevealReason
from .models import ErasureRecord, PiiAccessLog, PrivacySettings

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tickets.models import Ticket

logger = logging.getLogger(__name__)

# What is left of a shipping address after erasure: where it went, to district level.
ADDRESS_KEPT = ("province", "city", "district")


class AlreadyErased(ConflictError):
    code = "already_erased"


def pii_reveal(
    *,
    user: User,
    customer: Customer,
    field: str,
    reason: str,
    reason_detail: str = "",
    order: Order | None = None,
    ticket: Ticket | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> tuple[str, PiiAccessLog]:
    """The field's full value, once the access is written to the log.

    ``address`` needs the order whose shipping address is asked for. A reason from the list is
    required; "other" needs the explanation.
    """
    now = now or timezone.now()
    if field not in PiiField.values:
        raise InvalidInput(_("Unknown field."), errors={"field": [_("Unknown field.")]})
    if reason not in RevealReason.values:
        raise InvalidInput(_("Choose a reason."), errors={"reason": [_("Choose a reason.")]})
    reason_detail = reason_detail.strip()
    if reason == RevealReason.OTHER and not reason_detail:
        raise InvalidInput(
            _("Explain the reason."), errors={"reason_detail": [_("Explain the reason.")]}
        )
    if field == PiiField.ADDRESS and (order is None or order.customer_id != customer.pk):
        raise InvalidInput(_("Unknown field."), errors={"field": [_("Unknown field.")]})
    if field == PiiField.PHONE:
        value = customer.phone or ""
    elif field == PiiField.EMAIL:
        value = customer.email or ""
    else:
        assert order is not None  # an address is revealed for an order only (checked above)
        address = order.shipping_address or {}
        street = " ".join(str(address.get(k) or "") for k in ("line1", "postcode")).strip()
        recipient = " ".join(str(address.get(k) or "") for k in ("name", "phone")).strip()
        value = " · ".join(part for part in (mask_address(address), street, recipient) if part)
    log = PiiAccessLog.objects.create(
        at=now,
        user=user,
        customer=customer,
        field=field,
        order=order,
        ticket=ticket,
        reason=reason,
        reason_detail=reason_detail[:300],
        ip_address=ip_address or None,
    )
    return value, log


def customer_pseudonym(customer: Customer) -> str:
    """A stable pseudonymous id for the customer that reveals nothing about them."""
    digest = hmac.new(
        settings.PII_BLIND_INDEX_KEY.encode(), f"customer:{customer.pk}".encode(), hashlib.sha256
    ).hexdigest()
    return f"anon-{digest[:20]}"


@transaction.atomic
def customer_erase(
    *,
    customer: Customer,
    requested_by: Actor,
    reason: str = "",
    trigger: str = ErasureTrigger.REQUEST,
    now: datetime | None = None,
) -> ErasureRecord:
    """Anonymise the customer's personal data in every table and record the destruction.

    Orders, payments, refunds, tickets and their KPIs stay, under a pseudonymous customer id;
    names, phone numbers, e-mail addresses and street addresses go, from the customer row, the
    orders' shipping addresses, and every text and JSON copy linked to the customer (messages,
    subjects, descriptions, comments, event payloads, audit entries). Uploaded files linked to
    the customer (attachments, return evidence) are unlinked from their rows and deleted from
    storage once the transaction commits; a rolled-back erasure deletes nothing. The record
    keeps when, who, why, how many rows of which table changed and how many files went, never
    the values.
    """
    now = now or timezone.now()
    customer = customer_lock(customer_id=customer.pk)
    if customer.erased_at is not None:
        raise AlreadyErased(_("This customer's personal data has already been erased."))

    personal = PersonalData()
    personal.add_name(customer.name)
    personal.add_phone(customer.phone)
    personal.add_email(customer.email)
    orders = customer_orders_lock(customer_id=customer.pk)
    for order in orders:
        personal.add_address(order.shipping_address or {})
    scrub = Scrubber(personal)

    counts: dict[str, int] = {}
    for order in orders:
        address = order.shipping_address or {}
        order.shipping_address = {k: address[k] for k in ADDRESS_KEPT if address.get(k)}
    if orders:
        orders_shipping_addresses_set(orders=orders)
        counts[Order._meta.label] = len(orders)
    unlinked: list[StoredFile] = []
    # Each app scrubs its own rows of the customer, in the order of INSTALLED_APPS.
    for label, changed in customer_rows_erase(customer, scrub, unlinked=unlinked).items():
        counts[label] = counts.get(label, 0) + changed
    audited = ((Customer, [customer.pk]), (Order, [o.pk for o in orders]))
    counts.update(customer_copies_erase(audited=audited, personal=personal, scrub=scrub))

    pseudonym = customer_pseudonym(customer)
    customer_personal_data_replace(customer=customer, pseudonym=pseudonym, now=now)
    counts[Customer._meta.label] = 1
    record = ErasureRecord.objects.create(
        at=now,
        pseudonym=pseudonym,
        trigger=trigger,
        requested_by=f"{requested_by.kind}:{requested_by.label}"[:150],
        reason=scrub(reason.strip())[:300],
        rows_by_table=dict(sorted(counts.items())),
        files_deleted=len(unlinked),
    )
    if unlinked:
        files = [list(f) for f in unlinked]
        # Nothing sweeps for them: with no broker, deleted right after the commit.
        enqueue_or_run_on_commit("privacy.tasks.stored_files_delete_task", files)
    return record


def stored_files_delete(*, files: Iterable[StoredFile | list[str]]) -> int:
    """Delete erased uploads from their storage; return how many were deleted.

    Idempotent (a missing file is no error), and a file that a row references again is kept.
    """
    by_field: dict[tuple[str, str], set[str]] = defaultdict(set)
    for model, field, name in files:
        by_field[model, field].add(name)
    deleted = 0
    for (label, field), names in by_field.items():
        model_class = apps.get_model(label)
        storage = model_class._meta.get_field(field).storage
        in_use = set(
            model_class._default_manager.filter(**{f"{field}__in": names}).values_list(
                field, flat=True
            )
        )
        for name in sorted(names - in_use):
            storage.delete(name)
            deleted += 1
    logger.info("erasure: %d stored files deleted", deleted)
    return deleted


def customers_inactive(*, now: datetime) -> Q:
    """Not yet erased, and no order, ticket or change since the retention period began."""
    days = PrivacySettings.load().inactive_customer_retention_days
    since = now - timedelta(days=days)
    recent_order = Order.objects.filter(customer=OuterRef("pk")).filter(
        Q(placed_at__gte=since) | Q(updated_at__gte=since)
    )
    recent_ticket = Ticket.objects.filter(customer=OuterRef("pk"), updated_at__gte=since)
    return (
        Q(erased_at__isnull=True, updated_at__lt=since, created_at__lt=since)
        & ~Exists(recent_order)
        & ~Exists(recent_ticket)
    )


def customers_inactive_erase(*, now: datetime | None = None) -> list[ErasureRecord]:
    """Erase customers inactive beyond the retention period, a batch per run, oldest first."""
    now = now or timezone.now()
    batch = PrivacySettings.load().erasure_batch_size
    due = list(
        Customer.objects.filter(customers_inactive(now=now))
        .order_by("updated_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    records = []
    for pk in due:
        records.append(
            customer_erase(
                customer=Customer(pk=pk),
                requested_by=Actor.system("retention"),
                reason=_("Inactive beyond the retention period"),
                trigger=ErasureTrigger.RETENTION,
                now=now,
            )
        )
    return records
