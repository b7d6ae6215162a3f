"""What the aftercare seeders (returns, complaints, surveys) share: the run's demo orders and
users, ticket subjects read back, and a ticket's row walked through its app's lifecycle."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model

from csplatform.bulk import RowWriter
from csplatform.lifecycle import Lifecycle, StatusEvents
from demo.batches import Rows, Table, Walk, actor, batches_write, sequence_keep_ahead
from demo.context import SeedContext
from demo.orders import ORDER_NUMBER_BASE, STOREFRONT

CUSTOMER = ("api_key", None, STOREFRONT)  # the customer, through the storefront's API key
TICKET_FIELDS = ("id", "subject", "order_id", "owner_id", "assignee_id", "first_response_at")


def system(label: str) -> tuple:
    """The actor of what a timer or a sweep did."""
    return actor({}, None, label)


def subject_match(subject: str, table: Iterable[tuple[str, Any, Any]]) -> Any:
    """The value of the first (start, end, value) of ``table`` that the subject fits."""
    fits = (v for start, end, v in table if subject.startswith(start) and subject.endswith(end))
    return next(fits, None)


class Later(Exception):
    """A step after now: it, and what would follow it, has not happened yet."""


class World:
    """What the rows of a run refer to, loaded once."""

    def __init__(self, ctx: SeedContext):
        self.ctx, self.now = ctx, ctx.now
        self.numbers = (f"SO-{ORDER_NUMBER_BASE + 1}", f"SO-{ORDER_NUMBER_BASE + ctx.size}")
        self.usernames = dict(get_user_model().objects.values_list("pk", "username"))

    def keep(self, model: type, field: str, values: dict[int, Any]) -> None:
        """Set ``field`` of the rows of ``model`` by id, as the services keep it."""
        rows = [model(pk=pk, **{field: value}) for pk, value in values.items()]
        model._default_manager.bulk_update(rows, [field], batch_size=1_000)

    def write(self, items: list, tables: dict[str, Table], fill: Callable, size: int) -> dict:
        """Fill the tables' rows from ``items`` and write them ``size`` at a time (the first
        table's rows counted); a table whose rows bring their ids (their ticket's) keeps its
        sequence ahead of them."""
        first = next(iter(tables.values()))
        writer = RowWriter(self.now, first.model)
        for table in tables.values():
            if table.own_ids:
                sequence_keep_ahead(writer, table.model, max(item["id"] for item in items))
        rows = partial(Rows, tables)
        return batches_write(self.ctx, writer, items, size, rows, fill, first.label)


class Life(Walk):
    """A ticket's row moved as the app's ``lifecycle`` allows, up to now, its status events
    shaped as the lifecycle's event table writes them; by the ticket's agent unless said."""

    lifecycle: Lifecycle
    stream: str  # of the random generators, one per ticket

    def __init__(self, world: Any, ticket: dict, batch: Rows):
        self.world, self.ticket, self.batch, self.now = world, ticket, batch, world.now
        self.rng = world.ctx.rng(self.stream, ticket["id"])
        self.record: StatusEvents = self.lifecycle.record  # type: ignore[assignment]
        self.agent = self.user(ticket["owner_id"] or ticket["assignee_id"])

    @classmethod
    def write_all(cls, world: World, tickets: list[dict], tables: dict[str, Table]) -> dict:
        """Each ticket's row walked up to now, written a batch at a time."""

        def fill(ticket: dict, batch: Rows) -> None:
            life = cls(world, ticket, batch)
            life.until_now(life.live)

        return world.write(tickets, tables, fill, 2_000)

    @abstractmethod
    def live(self) -> None:
        """Write the row and its events up to now (a step after now raises ``Later``)."""

    def until_now(self, steps: Callable, *args) -> None:
        """Take the ``steps`` that happened by now."""
        with suppress(Later):
            steps(*args)

    def begin(self, row: dict, rows: list, parent: int | None = None) -> None:
        """Start the walk of ``row``; its events name it by ``parent`` (else its place)."""
        key = {self.record.row: len(rows) if parent is None else parent}
        super().__init__(row, self.batch.events, key)
        rows.append(row)

    def check(self, current: str, target: str) -> None:
        self.lifecycle.check(current, target)

    def values(self, type: str, old=None, new=None, reason: str = "", **payload) -> dict:
        size = self.record.model._meta.get_field("reason").max_length
        change = {self.record.old: old or self.status, self.record.new: new or self.status}
        return {"type": type, **change, "reason": reason[:size], "payload": payload}

    def event(self, type: str, at: datetime, actor: tuple, **fields) -> dict:
        if at > self.now:
            raise Later
        return super().event(type, at, actor, **fields)

    def move(self, target: str, at, actor: tuple, reason: str = "", **fields) -> dict:
        return super().move(target, at, actor, reason, **self.record.constant, **fields)

    def user(self, user_id: int | None) -> tuple:
        return actor(self.world.usernames, user_id)
