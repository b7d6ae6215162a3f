"""Many rows at once: COPY on PostgreSQL, bulk_create elsewhere.

For writers of thousands of rows per transaction (the SLA sweep, the demo data), where
``bulk_create`` spends most of its time building model instances and, on PostgreSQL, quoting
arrays in Python.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router, transaction

Row = dict[str, Any]

# Chinese text as UTF-8 rather than escaped: fewer bytes for the server to parse.
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Batch(Protocol):
    """Rows of several tables written together; ``write`` returns how many of each."""

    def write(self, writer: RowWriter) -> dict[str, int]: ...


class RowWriter:
    """Inserts rows given as dicts keyed by field name: COPY on PostgreSQL, bulk_create elsewhere.

    COPY is what fits 100,000 orders (some 1.5 million rows) in a minute: bulk_create spends most
    of its time building model instances and, on PostgreSQL, quoting arrays in Python. A row's
    foreign key to a parent written in the same batch holds the parent's position in its list and
    is resolved here, once the parents have their ids. Rows normally get their ids from the
    table's sequence; with ``own_ids`` they bring them under ``"id"`` (the caller keeps the
    sequence ahead of them).
    """

    def __init__(self, now: datetime, model: type[models.Model]):
        self.alias = router.db_for_write(model)
        self.connection = connections[self.alias]
        self.copy = self.connection.vendor == "postgresql"
        self.now = now
        # Ciphertexts of JSON documents by the id of the document (kept alive beside it): a
        # customer's home address, shared by most of their orders, is encrypted once.
        self._encrypted_documents: dict[int, tuple[Any, Any]] = {}

    def write_batches(self, batches: Iterable[Batch]) -> Iterator[dict[str, int]]:
        """Write each batch in a transaction of its own; yield the counts of what it held."""
        if not self.copy or self.connection.in_atomic_block:
            for batch in batches:
                with transaction.atomic(using=self.alias):
                    counts = batch.write(self)
                yield counts
            return
        # On PostgreSQL a batch's COMMIT, where the database checks the foreign keys of all its
        # rows (a fifth of the run), is left to a worker thread while this thread builds the
        # next batch. The threads take turns: neither uses the connection while the other does.
        transaction.set_autocommit(False, using=self.alias)
        raw = self.connection.connection  # after set_autocommit, which may reconnect
        try:
            with ThreadPoolExecutor(max_workers=1) as committer:
                committing: Future[None] | None = None
                for batch in batches:
                    if committing is not None:
                        committing.result()
                    counts = batch.write(self)
                    committing = committer.submit(raw.commit)
                    yield counts
                if committing is not None:
                    committing.result()
        except BaseException:
            transaction.rollback(using=self.alias)
            raise
        finally:
            transaction.set_autocommit(True, using=self.alias)

    def insert(
        self,
        model: type[models.Model],
        rows: list[Row],
        parent_ids: dict[str, list[int]] | None = None,
        *,
        with_ids: bool = False,
        own_ids: bool = False,
    ) -> list[int]:
        """Insert the rows; with ``with_ids``, return their ids in the order given."""
        if not rows:
            return []
        if own_ids:
            with_ids = False
        for name, ids in (parent_ids or {}).items():
            for row in rows:
                row[name] = ids[row[name]]
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        defaults = {
            f.name: self.now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default()
            for f in fields
        }  # fmt: skip
        if self.copy:
            self._encrypt(fields, rows)
            return self._copy(model, fields, defaults, rows, with_ids, own_ids)
        return self._bulk_create(model, fields, defaults, rows, with_ids, own_ids)

    def insert_instances(self, model: type[models.Model], objs: Iterable[models.Model]) -> None:
        """Insert unsaved instances of ``model``; those whose primary key is not drawn from a
        sequence (a one-to-one key, say) bring theirs."""
        auto = model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")
        fields = [f for f in model._meta.concrete_fields if not (auto and f.primary_key)]
        self.insert(
            model,
            [{f.name: getattr(obj, f.attname) for f in fields} for obj in objs],
            own_ids=not auto,
        )

    def _encrypt(self, fields: list[models.Field[Any, Any]], rows: list[Row]) -> None:
        """Encrypt the values of encrypted fields, which COPY would otherwise write in clear.

        (bulk_create encrypts through the fields themselves.)
        """
        from encrypted_fields.fields import EncryptedFieldMixin, EncryptedJSONField

        for field in fields:
            if not isinstance(field, EncryptedFieldMixin):
                continue
            name = field.name
            if isinstance(field, EncryptedJSONField):
                done = self._encrypted_documents
                for row in rows:
                    if (document := row.get(name)) is None:
                        continue
                    cached = done.get(id(document))
                    if cached is None or cached[0] is not document:
                        cached = done[id(document)] = (document, field._encrypt_values(document))
                    row[name] = cached[1]
            else:
                for row in rows:
                    if name in row:
                        row[name] = field.get_prep_value(row[name])

    def _copy(
        self,
        model: type[models.Model],
        fields: list[models.Field[Any, Any]],
        defaults: Row,
        rows: list[Row],
        with_ids: bool,
        own_ids: bool,
    ) -> list[int]:
        from psycopg.types.json import set_json_dumps

        quote = self.connection.ops.quote_name
        table, pk = model._meta.db_table, model._meta.pk
        ids = []
        if with_ids:
            with self.connection.cursor() as cursor:
                # Ids drawn from the table's own sequence cannot collide with concurrent inserts.
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [quote(table), pk.column, len(rows)],
                )
                ids = [row_id for (row_id,) in cursor.fetchall()]
        columns = [self._column(f) for f in ([pk] if with_ids or own_ids else []) + fields]
        names = [f.name for f in fields]
        sql = (
            f"COPY {quote(table)} ({', '.join(quote(column) for column, _ in columns)}) "
            "FROM STDIN (FORMAT BINARY)"
        )
        # Binary saves the server parsing every timestamp, number and JSON document as text.
        types = [db_type for _, db_type in columns]
        with self.connection.cursor() as cursor:
            set_json_dumps(_compact_json, context=cursor.cursor)
            with cursor.copy(sql) as copy:
                copy.set_types(types)
                if with_ids:
                    for row_id, row in zip(ids, rows, strict=True):
                        values = [row.get(name, defaults[name]) for name in names]
                        copy.write_row([row_id, *values])
                elif own_ids:
                    for row in rows:
                        values = [row.get(name, defaults[name]) for name in names]
                        copy.write_row([row[pk.name], *values])
                else:
                    for row in rows:
                        copy.write_row([row.get(name, defaults[name]) for name in names])
        return ids

    def _column(self, field: models.Field[Any, Any]) -> tuple[str, str]:
        """A concrete field's column and the name of its database type (no size)."""
        db_type = field.db_type(self.connection)
        if field.column is None or db_type is None:
            raise ImproperlyConfigured(f"{field} has no column of its own.")
        return field.column, db_type.split("(")[0]

    def _bulk_create(
        self,
        model: type[models.Model],
        fields: list[models.Field[Any, Any]],
        defaults: Row,
        rows: list[Row],
        with_ids: bool,
        own_ids: bool,
    ) -> list[int]:
        if with_ids and not self.connection.features.can_return_rows_from_bulk_insert:
            raise ImproperlyConfigured("Needs PostgreSQL, or SQLite 3.35 or later.")
        objs = [
            model(**{f.attname: row.get(f.name, defaults[f.name]) for f in fields}) for row in rows
        ]
        if own_ids:
            for obj, row in zip(objs, rows, strict=True):
                obj.pk = row[model._meta.pk.name]
        model._default_manager.using(self.alias).bulk_create(objs)
        return [obj.pk for obj in objs]
