"""Lifecycles as data: which status may follow which, and the one way a row moves.

Each app's ``transitions.py`` declares its ``Lifecycle``: the table of allowed moves (its
states listed in the order of the lifecycle, the order clients are shown the next ones in),
what a move stamps on the row, how its event row is written, and what the rest of the platform
hears once it has committed. The move itself (check, change, event, side effects) is the same
for every lifecycle and lives here.

The engine never saves the row: a service changes other fields along with the status and saves
them all at once, inside the transaction that holds the row's lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Model, QuerySet
from django.dispatch import Signal

from .actors import Actor
from .errors import ConflictError


class TransitionNotAllowed(ConflictError):
    """A move the table does not allow; ``allowed`` lists the moves it does, in lifecycle order.

    Each lifecycle names its own subclass, so that a page can word the refusal in its terms.
    """

    code = "invalid_transition"
    subject = "An object"

    def __init__(self, current: str, target: str, allowed: list[str]):
        super().__init__(
            f"{self.subject} in status '{current}' cannot move to '{target}'.",
            current_status=current,
            requested_status=target,
            allowed=allowed,
        )


@dataclass(frozen=True)
class Transition:
    """One move of one row: from ``old`` to ``new``, at ``at``, by ``actor``."""

    row: Any
    old: str
    new: str
    at: datetime
    actor: Actor
    # The fields the move set on the row (for the caller's save) and the event row it wrote.
    changed: tuple[str, ...] = ()
    event: Any = None


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle of one model's ``field``: its table and what a move writes and tells."""

    model: type[Model]
    table: Mapping[str, frozenset[str]]
    error: type[TransitionNotAllowed]
    # Writes the move's event row; gets the details the caller passed (reason, payload, …).
    record: Callable[..., Any]
    # The column each status fills with the time of the move when the row enters it.
    timestamps: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # The row's "last changed" column, set to the time of every move.
    touched: str | None = None
    # Sets whatever else a move changes on the row (a reopen count) and names those fields.
    changes: Callable[[Transition], Iterable[str]] = lambda transition: ()
    # Sent after the commit with ``<model>_id``, ``old_status``, ``new_status`` and ``at``.
    announce: Signal | None = None
    # Work to run after the commit, decided at the time of the move.
    effects: Callable[[Transition], Iterable[Callable[[], object]]] = lambda transition: ()
    field: str = "status"

    def __post_init__(self) -> None:
        unknown = {target for targets in self.table.values() for target in targets}
        unknown -= set(self.table)
        if unknown:
            raise ImproperlyConfigured(
                f"The {self.model.__name__} lifecycle moves to states it does not list: "
                f"{sorted(unknown)}."
            )

    @property
    def states(self) -> list[str]:
        return [str(state) for state in self.table]

    def allowed_next(self, current: str) -> list[str]:
        """The statuses ``current`` may move to, in lifecycle order."""
        targets = self.table[current]
        return [state for state in self.states if state in targets]

    def check(self, current: str, target: str) -> None:
        if target not in self.table[current]:
            raise self.error(current, target, self.allowed_next(current))

    def lock(self, queryset: QuerySet[Any] | None = None, /, **lookup: Any) -> Any:
        """The row, locked for a change (csplatform.locks): its writers queue behind us, the
        rows inserted under it do not, and rows joined for reading stay unlocked."""
        return self._locking(queryset).get(**lookup)

    def lock_if(self, queryset: QuerySet[Any] | None = None, /, **lookup: Any) -> Any | None:
        """As ``lock``, for a row that may be gone or no longer match ``queryset`` (a timer
        another sweeper or a service got to first): ``None`` then."""
        return self._locking(queryset).filter(**lookup).first()

    def _locking(self, queryset: QuerySet[Any] | None) -> QuerySet[Any]:
        rows = self.model._default_manager.all() if queryset is None else queryset
        return rows.select_for_update(no_key=True, of=("self",))

    def apply(
        self, row: Any, target: str, *, actor: Actor, at: datetime, **details: Any
    ) -> Transition:
        """Move the locked ``row`` to ``target`` and write its event; the caller saves the row
        (``Transition.changed``) in the same transaction."""
        current = getattr(row, self.field)
        self.check(current, target)
        setattr(row, self.field, target)
        move = Transition(row=row, old=current, new=target, at=at, actor=actor)
        stamped = [self.touched] if self.touched else []
        if target in self.timestamps:
            stamped.append(self.timestamps[target])
        for column in stamped:
            setattr(row, column, at)
        changed = (self.field, *stamped, *self.changes(move))
        move = replace(move, changed=changed)
        move = replace(move, event=self.record(move, **details))
        if self.announce is not None:
            self._announce_on_commit(self.announce, move)
        for effect in self.effects(move):
            transaction.on_commit(effect)
        return move

    def _announce_on_commit(self, signal: Signal, move: Transition) -> None:
        sender = self.model
        arguments = {
            f"{self.model._meta.model_name}_id": move.row.pk,
            "old_status": move.old,
            "new_status": move.new,
            "at": move.at,
        }
        transaction.on_commit(lambda: signal.send(sender=sender, **arguments))


@dataclass(frozen=True)
class StatusEvents:
    """Writes a move as a row of an event table that keeps, like most do, the row it belongs
    to, a type, the old and new value, a reason, a payload, when and who."""

    model: type[Model]
    row: str
    old: str
    new: str
    # The type of a status event; a caller may name another (an appeal, a reopen).
    type: str
    # Columns every status event of this table carries as they are.
    constant: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __call__(
        self,
        move: Transition,
        *,
        reason: str = "",
        event_type: str = "",
        payload: dict[str, Any] | None = None,
    ) -> Any:
        reason_length = getattr(self.model._meta.get_field("reason"), "max_length", None)
        return self.model._default_manager.create(
            **{self.row: move.row, self.old: move.old, self.new: move.new},
            **self.constant,
            type=event_type or self.type,
            reason=reason[:reason_length],
            payload=payload or {},
            at=move.at,
            **move.actor.event_fields(),
        )
