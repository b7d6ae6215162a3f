"""Rows built in memory a batch at a time and written together (COPY on PostgreSQL)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from csplatform.bulk import RowWriter
from demo.context import SeedContext


@dataclass(frozen=True)
class Table:
    """One table of a batch: ``parents`` names, per column, the earlier table whose ids it takes
    (rows hold the parent's place in its list until then)."""

    label: str  # as the command reports it: "order lines"
    model: type
    parents: dict[str, str] = field(default_factory=dict)
    with_ids: bool = False
    own_ids: bool = False


class Rows:
    """A batch's rows, one list per table (an attribute of the table's name)."""

    def __init__(self, tables: dict[str, Table]):
        self._tables = tables
        for name in tables:
            setattr(self, name, [])

    def write(self, writer: RowWriter) -> dict[str, int]:
        """Insert the tables in their order, parents first; the rows written per table."""
        ids: dict[str, list[int]] = {}
        for name, t in self._tables.items():
            parents = {column: ids[parent] for column, parent in t.parents.items()}
            rows = getattr(self, name)
            ids[name] = writer.insert(
                t.model, rows, parents, with_ids=t.with_ids, own_ids=t.own_ids
            )
        return {t.label: len(getattr(self, name)) for name, t in self._tables.items()}


def batches_write(
    ctx: SeedContext,
    writer: RowWriter,
    items: Sequence,
    size: int,
    new_batch: Callable[[], Rows],  # or any batch with a write(writer) of its own
    fill: Callable,
    unit: str,
) -> dict[str, int]:
    """Build the rows of ``items`` ``size`` at a time, each batch written while the next is
    built; the rows written per table. ``unit``: the table whose count the progress reports."""

    def batches():
        for start in range(0, len(items), size):
            batch = new_batch()
            for item in items[start : start + size]:
                fill(item, batch)
            yield batch

    totals: dict[str, int] = {}
    for counts in writer.write_batches(batches()):
        for label, count in counts.items():
            totals[label] = totals.get(label, 0) + count
        ctx.progress(f"{unit}: {totals[unit]:,}/{len(items):,}")
    return totals


def sequence_keep_ahead(writer: RowWriter, model, highest_seeded: int) -> None:
    """Keep the ids the services give next (and the numbers made of them) past those seeded."""
    if not writer.copy:
        return  # SQLite's AUTOINCREMENT moves past explicitly inserted ids by itself
    table = writer.connection.ops.quote_name(model._meta.db_table)
    highest = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with writer.connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "GREATEST(%s, %s, nextval(pg_get_serial_sequence(%s, 'id'))))",
            [table, highest_seeded, highest, table],
        )


def in_chunks(ids: Sequence[int], query: Callable, size: int = 5_000):
    """The rows ``query(some_ids)`` gives for all of ``ids``, asked a chunk at a time."""
    for start in range(0, len(ids), size):
        yield from query(ids[start : start + size])


def actor(usernames: dict[int, str], user_id: int | None, label: str = "system") -> tuple:
    """An event's actor columns as (kind, user id, label): the user, or the system if none."""
    if user_id is None:
        return ("system", None, label)
    return ("user", user_id, usernames.get(user_id, ""))


class Walk(ABC):
    """One row moved through its app's transition table (``check``) as its services move it,
    each step leaving an event row in ``events``; ``values`` shapes the app's event columns."""

    check: Callable[[str, str], None]

    def __init__(self, row: dict, events: list, key: dict):
        self.row, self.events, self.key = row, events, key  # key: the event's parent column
        self.status = row["status"]

    @abstractmethod
    def values(self, type: str, **fields) -> dict:
        """The app's own event columns for one step."""

    def event(self, type: str, at, actor: tuple, **fields) -> dict:
        kind, user, label = actor
        event = {**self.key, **self.values(type, **fields), "at": at}
        event.update(actor_kind=kind, actor_user=user, actor_label=label)
        self.events.append(event)
        self.row["updated_at"] = max(self.row["updated_at"], at)
        return event

    def move(self, target: str, at, actor: tuple, reason: str = "", **fields) -> dict:
        self.check(self.status, target)
        kind = fields.pop("event_type", "status")
        event = self.event(kind, at, actor, old=self.status, new=target, reason=reason, **fields)
        self.status = self.row["status"] = target
        return event
