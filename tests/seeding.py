"""``seed_demo`` in the tests: run at a fixed moment, its output returned."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import time_machine
from django.core.management import call_command

# Seeding reads the clock once; a fixed one makes runs comparable (a quarter past eight in
# the evening in Beijing, when agents are on shift).
DEMO_NOW = datetime(2026, 3, 4, 12, 15, 7, 123456, tzinfo=UTC)


def seed_demo_at(*, orders: int, tickets: int, now: datetime = DEMO_NOW, **options) -> str:
    """Run ``seed_demo`` with the clock stopped at ``now``; what it printed."""
    out = io.StringIO()
    with time_machine.travel(now, tick=False):
        call_command("seed_demo", orders=orders, tickets=tickets, stdout=out, **options)
    return out.getvalue()
