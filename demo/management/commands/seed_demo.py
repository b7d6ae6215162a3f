"""Fill a development or demo database with believable data and the demo logins.

The ``demo`` package holds a ``seed(ctx)`` per app, run in the order of ``SEEDERS`` because later
apps build on earlier ones (tickets need orders, surveys need tickets). Every seeder adds only
what is missing, so the command can run again at any time.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.module_loading import import_string

from csplatform.roles import DEMO_GROUP, ROLES
from demo.context import DEMO_PASSWORD, SeedContext

APPS = ("orders", "tickets", "refunds", "complaints", "surveys", "messaging")
SEEDERS = tuple(f"demo.{app}.seed" for app in APPS)
OPTIONS = (  # name, default, what it sets
    ("orders", 500, "How many demo orders should exist"),
    ("tickets", 300, "How many demo tickets should exist, over the last 365 days"),
    ("seed", 42, "Random seed; the same seed gives the same data"),
)


def _non_negative(value: str) -> int:
    if (number := int(value)) < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Create demo users, customers, orders, teams and tickets (idempotent: a second run adds "
        "only what is missing). Refused where demo accounts are not allowed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        for name, default, text in OPTIONS:
            described = f"{text} (default {default})."
            parser.add_argument(f"--{name}", type=_non_negative, default=default, help=described)

    def handle(self, *args: Any, orders: int, tickets: int, seed: int, **options: Any) -> None:
        if not settings.DEMO_ACCOUNTS_ALLOWED:
            raise CommandError(
                "Demo data is not allowed here (settings.DEMO_ACCOUNTS_ALLOWED is False)."
            )
        verbosity = options["verbosity"]
        ctx = SeedContext(seed, timezone.now(), orders, self.stdout, self.style, verbosity, tickets)
        say = self.stdout.write if verbosity else lambda message: None
        started = time.perf_counter()
        for app, path in zip(APPS, SEEDERS, strict=True):
            app_started = time.perf_counter()
            created = import_string(path)(ctx)
            summary = ", ".join(f"{count:,} {label}" for label, count in created.items() if count)
            took = time.perf_counter() - app_started
            say(f"{app}: created {summary or 'nothing (all present)'} ({took:.1f} s)")
        say(f"Done in {time.perf_counter() - started:.1f} s.")
        if verbosity:
            self._print_logins()

    def _print_logins(self) -> None:
        """The role logins one a line; the many team agents of the tickets demo in one line."""
        users = get_user_model().objects.filter(groups__name=DEMO_GROUP).prefetch_related("groups")
        rank = {role: i for i, role in enumerate(ROLES)}
        users = sorted(users, key=lambda u: (rank.get(u.username, len(rank)), u.username))
        listed = [u for u in users if u.username in rank] or users
        others = [u for u in users if u not in listed]
        if users:
            self.stdout.write(self.style.SUCCESS(f"Demo logins (password {DEMO_PASSWORD!r}):"))
        for user in listed:
            roles = ", ".join(sorted(g.name for g in user.groups.all() if g.name in ROLES))
            name = f"{user.last_name}{user.first_name}"
            self.stdout.write(f"  {user.username:<12} {name:<6} {roles}")
        if others:
            more = f"{others[0].username} … {others[-1].username}"
            self.stdout.write(f"  and {len(others)} more: {more}")
