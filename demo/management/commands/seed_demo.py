"""Fill a development or demo database with believable data and the demo logins.

The ``demo`` package holds a ``seed(ctx)`` function per app; they run in the order of ``SEEDERS``
because later apps build on earlier ones (tickets need orders, surveys need tickets).
Every seeder is idempotent, so the command can run again at any time and only adds what is
missing.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.module_loading import import_string

from csplatform.roles import ADMIN, AGENT, ANALYST, DEMO_GROUP, ROLES, SUPERVISOR
from demo.context import DEMO_PASSWORD, SeedContext

SEEDERS = (
    "demo.orders.seed",
    "demo.tickets.seed",
    "demo.refunds.seed",
    "demo.complaints.seed",
    "demo.surveys.seed",
    "demo.messaging.seed",
)


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Create demo users, customers, orders, teams and tickets (idempotent: a second run adds "
        "only what is missing). Refused where demo accounts are not allowed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders",
            type=_non_negative,
            default=500,
            help="How many demo orders should exist (default 500).",
        )
        parser.add_argument(
            "--tickets",
            type=_non_negative,
            default=300,
            help="How many demo tickets should exist (default 300), over the last 365 days.",
        )
        parser.add_argument(
            "--seed",
            type=_non_negative,
            default=42,
            help="Random seed (default 42); the same seed gives the same data.",
        )

    def handle(
        self, *args: Any, orders: int, tickets: int, seed: int, verbosity: int, **options: Any
    ) -> None:
        if not settings.DEMO_ACCOUNTS_ALLOWED:
            raise CommandError(
                "Demo data is not allowed here (settings.DEMO_ACCOUNTS_ALLOWED is False)."
            )
        ctx = SeedContext(
            seed=seed,
            now=timezone.now(),
            size=orders,
            stdout=self.stdout,
            style=self.style,
            verbosity=verbosity,
            tickets=tickets,
        )
        started = time.perf_counter()
        for path in SEEDERS:
            app = path.split(".")[-2]
            app_started = time.perf_counter()
            created = import_string(path)(ctx)
            summary = ", ".join(f"{count:,} {label}" for label, count in created.items() if count)
            if verbosity:
                took = time.perf_counter() - app_started
                summary = summary or "nothing (all present)"
                self.stdout.write(f"{app}: created {summary} ({took:.1f} s)")
        if verbosity:
            self.stdout.write(f"Done in {time.perf_counter() - started:.1f} s.")
            self._print_logins()

    def _print_logins(self) -> None:
        role_order = {AGENT: 0, SUPERVISOR: 1, ADMIN: 2, ANALYST: 3}
        users = sorted(
            get_user_model().objects.filter(groups__name=DEMO_GROUP).prefetch_related("groups"),
            key=lambda u: (role_order.get(u.username, len(role_order)), u.username),
        )
        if not users:
            return
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password {DEMO_PASSWORD!r}):"))
        # The role logins one a line; the many team agents of the tickets demo in one line.
        listed = [u for u in users if u.username in role_order]
        others = [u for u in users if u.username not in role_order]
        for user in listed or users:
            roles = ", ".join(sorted(g.name for g in user.groups.all() if g.name in ROLES))
            name = f"{user.last_name}{user.first_name}"
            self.stdout.write(f"  {user.username:<12} {name:<6} {roles}")
        if listed and others:
            self.stdout.write(
                f"  and {len(others)} more: {others[0].username} … {others[-1].username}"
            )
