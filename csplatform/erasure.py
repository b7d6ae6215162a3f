"""Wiping one customer's personal data: the scrubbing, and the registry of the apps that hold it.

A customer's contact details travel into ticket messages, return and complaint descriptions,
survey comments and event payloads. Each app that holds rows of a customer registers in its
``AppConfig.ready()`` (``customer_rows_eraser_register``); the erasure runs the registered apps
in the order of ``INSTALLED_APPS``, inside its own transaction. An app's tables are found from its
models: every model with a path of foreign keys to the customer (direct, or through an order, a
ticket, a return request...) has its text and JSON columns scrubbed for that customer's rows,
and its uploaded files (``FileField``) unlinked, to be deleted from storage once the erasure has
committed; so a new table of a registered app cannot escape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from django.apps import apps
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast

from .privacy import normalise_phone

ERASED = "***"
MAX_PATH_DEPTH = 4
# Any mainland mobile number (spaces, dashes, +86 allowed) and any e-mail address found in the
# texts that belong to the customer are theirs, or someone's they gave: both go.
_ANY_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)")
_ANY_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass
class PersonalData:
    """What identifies the customer: their names, phone numbers, e-mails and street lines."""

    names: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # digits only
    emails: set[str] = field(default_factory=set)
    streets: set[str] = field(default_factory=set)

    def add_address(self, address: dict) -> None:
        self.add_name(address.get("name"))
        self.add_phone(address.get("phone"))
        if street := str(address.get("line1") or "").strip():
            self.streets.add(street)

    def add_name(self, name: str | None) -> None:
        # A single character would wipe every word that contains it.
        if name and len(name.strip()) >= 2:
            self.names.add(name.strip())

    def add_phone(self, phone: str | None) -> None:
        if digits := normalise_phone(phone):
            self.phones.add(digits)

    def add_email(self, email: str | None) -> None:
        if email and email.strip():
            self.emails.add(email.strip())

    def pattern(self) -> re.Pattern | None:
        """One expression matching any of the values, phones in any common spelling."""
        parts = [re.escape(v) for v in sorted(self.names | self.emails | self.streets, key=len)]
        parts = parts[::-1]  # longest first, so that a full name wins over its part
        for digits in self.phones:
            parts.append(r"(?:\+?86[ -]?)?" + r"[ -]?".join(digits))
        return re.compile("|".join(parts), re.IGNORECASE) if parts else None


class Scrubber:
    """Replaces the customer's personal data in texts and JSON documents.

    Free text (messages, descriptions, comments, payloads) also loses every mobile number and
    e-mail address in it; short identifier columns (tracking numbers, transaction ids) only
    lose exact copies of the customer's own values, so that no identifier is broken by chance.
    """

    def __init__(self, personal: PersonalData):
        self.pattern = personal.pattern()

    def __call__(self, value: Any, *, free_text: bool = True) -> Any:
        if isinstance(value, str):
            if self.pattern is not None:
                value = self.pattern.sub(ERASED, value)
            if free_text:
                value = _ANY_MOBILE.sub(ERASED, _ANY_EMAIL.sub(ERASED, value))
            return value
        if isinstance(value, dict):
            return {key: self(item, free_text=free_text) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item, free_text=free_text) for item in value]
        return value


def is_free_text(f: Any) -> bool:
    return isinstance(f, (models.TextField, models.JSONField)) or (f.max_length or 0) >= 200


# --- The tables ------------------------------------------------------------------------------


def _is_scrubbable(f: Any) -> bool:
    """Free text or JSON; not an enumerated value, not a key. Of the encrypted columns only the
    short ones (an address a mail came from): an encrypted document is its owner's to rewrite."""
    from encrypted_fields.fields import EncryptedCharField, EncryptedFieldMixin

    if not getattr(f, "concrete", False) or f.is_relation or f.primary_key:
        return False
    if isinstance(f, EncryptedFieldMixin) and not isinstance(f, EncryptedCharField):
        return False
    if f.choices or f.unique:  # unique: an identifier
        return False
    return isinstance(f, (models.CharField, models.TextField, models.JSONField))


def path_to_customer(
    model: type[models.Model], customer: type[models.Model], depth: int = 0
) -> str | None:
    """The shortest foreign-key path from ``model`` to the ``customer`` model, as a lookup."""
    if depth > MAX_PATH_DEPTH:
        return None
    forward: list[tuple[str, type[models.Model]]] = [
        (f.name, f.related_model)
        for f in model._meta.concrete_fields
        if f.many_to_one and isinstance(f.related_model, type) and f.related_model is not model
    ]
    for name, related in forward:
        if related is customer:
            return name
    best = None
    for name, related in forward:
        if related._meta.app_label in {"auth", "contenttypes", "admin", "sessions"}:
            continue
        rest = path_to_customer(related, customer, depth + 1)
        if rest is not None and (best is None or rest.count("__") + 1 < best.count("__")):
            best = f"{name}__{rest}"
    return best


class StoredFile(NamedTuple):
    """An uploaded file unlinked by an erasure: where its storage is found, and its name there.

    Stored names are random (``csplatform.uploads``), never the customer's file name.
    """

    model: str  # "tickets.Attachment"
    field: str
    name: str


@dataclass(frozen=True)
class LinkedTable:
    model: type[models.Model]
    customer_path: str
    fields: tuple[str, ...]
    file_fields: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label


@cache
def app_linked_tables(app_label: str, customer: type[models.Model]) -> tuple[LinkedTable, ...]:
    """The app's tables that hold rows of a ``customer``, with their free-text and JSON columns."""
    tables = []
    for model in apps.get_app_config(app_label).get_models():
        if model is customer or model._meta.proxy or not model._meta.managed:
            continue
        names = tuple(f.name for f in model._meta.concrete_fields if _is_scrubbable(f))
        files = tuple(
            f.name for f in model._meta.concrete_fields if isinstance(f, models.FileField)
        )
        if not names and not files:
            continue
        path = path_to_customer(model, customer)
        if path is not None:
            tables.append(LinkedTable(model, path, names, files))
    return tuple(tables)


def scrub_rows(
    queryset: models.QuerySet[Any],
    fields: Iterable[str],
    scrub: Scrubber,
    *,
    file_fields: Iterable[str] = (),
    unlinked: list[StoredFile] | None = None,
    batch: int = 500,
) -> int:
    """Rewrite the rows whose text changes, and empty their ``file_fields`` (the stored files
    are appended to ``unlinked`` for deletion); return how many rows changed."""
    fields, file_fields = tuple(fields), tuple(file_fields)
    model_fields = {f.name: f for f in queryset.model._meta.concrete_fields}
    free_text = {name: is_free_text(model_fields[name]) for name in fields}
    label = queryset.model._meta.label
    changed = []
    for row in queryset.only("pk", *fields, *file_fields).iterator(chunk_size=batch):
        dirty = False
        for name in fields:
            before = getattr(row, name)
            after = scrub(before, free_text=free_text[name])
            if after != before:
                setattr(row, name, after)
                dirty = True
        for name in file_fields:
            if stored := getattr(row, name).name:
                assert unlinked is not None, "the caller collects the unlinked files"
                unlinked.append(StoredFile(label, name, stored))
                setattr(row, name, "")
                dirty = True
        if dirty:
            changed.append(row)
    if changed:
        queryset.model.objects.bulk_update(changed, fields + file_fields, batch_size=batch)
    return len(changed)


# --- The registry ---------------------------------------------------------------------------

_registered: set[str] = set()


def customer_rows_eraser_register(app_label: str) -> None:
    """The app erases its own rows of a customer when a customer's personal data is erased."""
    _registered.add(app_label)


def customer_rows_erasers() -> tuple[str, ...]:
    """The registered apps, in the order of ``INSTALLED_APPS``: the order the rows are locked."""
    return tuple(c.label for c in apps.get_app_configs() if c.label in _registered)


def customer_linked_tables(customer: type[models.Model]) -> tuple[LinkedTable, ...]:
    """Every registered app's tables that hold rows of a customer."""
    return tuple(
        table for label in customer_rows_erasers() for table in app_linked_tables(label, customer)
    )


def customer_rows_erase(
    customer: models.Model, scrub: Scrubber, *, unlinked: list[StoredFile] | None = None
) -> dict[str, int]:
    """Scrub every registered app's rows of the (locked) customer, unlinking their uploaded
    files (added to ``unlinked``); rows changed by table label."""
    unlinked = [] if unlinked is None else unlinked
    counts = {}
    for table in customer_linked_tables(customer._meta.concrete_model or type(customer)):
        rows = table.model._default_manager.filter(**{table.customer_path: customer})
        changed = scrub_rows(
            rows, table.fields, scrub, file_fields=table.file_fields, unlinked=unlinked
        )
        if changed:
            counts[table.label] = changed
    return counts


# --- Copies outside the foreign keys ----------------------------------------------------------


def customer_copies_erase(
    *,
    audited: Iterable[tuple[type[models.Model], Iterable[object]]],
    personal: PersonalData,
    scrub: Scrubber,
) -> dict[str, int]:
    """Copies of the customer's data kept outside their foreign keys: the audit entries of the
    ``audited`` rows (a model and primary keys each) and the stored idempotent responses."""
    counts = {}
    if apps.is_installed("auditlog"):
        from django.contrib.contenttypes.models import ContentType

        LogEntry = apps.get_model("auditlog", "LogEntry")
        match = Q()
        for model, pks in audited:
            match |= Q(
                content_type=ContentType.objects.get_for_model(model),
                object_pk__in=[str(pk) for pk in pks],
            )
        fields = [
            f.name
            for f in LogEntry._meta.concrete_fields
            if f.name in {"changes", "changes_text", "object_repr", "additional_data"}
        ]
        if changed := scrub_rows(LogEntry.objects.filter(match), fields, scrub):
            counts[LogEntry._meta.label] = changed
    Idempotency = apps.get_model("csplatform", "IdempotencyRecord")
    needles = personal.names | personal.emails | personal.phones | personal.streets
    if needles:
        match = Q()
        for needle in needles:
            match |= Q(body_text__icontains=needle)
        stored = Idempotency.objects.annotate(body_text=Cast("body", TextField())).filter(match)
        if changed := scrub_rows(stored, ["body"], scrub):
            counts[Idempotency._meta.label] = changed
    return counts
