"""Sums of the day rollups over a slice, read from the coarsest grain that holds it."""

from __future__ import annotations

from django.db import connection

from kpis.models import MEASURES, ROLLUPS
from kpis.selectors.slices import CUBE_COLUMNS, Slice

SUM_FIELDS = MEASURES
# The dimensions of a cube: what the dashboard's totals and breakdowns are taken from.
CUBE = ("team_id", "channel", "kind", "tier")


def rollup_for(s: Slice, groups: tuple[str, ...] = (), family=ROLLUPS):
    """The coarsest of a rollup's grains (``family``: per day × team × agent × channel × kind ×
    tier, without the agent, per agent only) that holds what the slice filters and groups by."""
    finest, without_agent, by_agent_only = family
    by_agent = s.agent_id is not None or "agent_id" in groups
    by_ticket = any((s.channel, s.kind, s.tier)) or bool({"channel", "kind", "tier"} & set(groups))
    if by_agent and by_ticket:
        return finest
    return by_agent_only if by_agent else without_agent


def rollup_sums(
    s: Slice,
    *,
    fields=SUM_FIELDS,
    group_by: str | tuple[str, ...] | None = None,
    family=ROLLUPS,
) -> list[dict]:
    """``SUM`` of the rollup columns over the slice, optionally per value of ``group_by`` (a
    column or a tuple of columns), from the coarsest grain of ``family`` that holds them.

    Plain SQL, the same on PostgreSQL and SQLite: the ORM spends longer compiling two hundred
    ``Sum`` expressions than the database spends summing a year of rollup rows.
    """
    groups = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    model = rollup_for(s, groups, family)
    known = {f.column for f in model._meta.concrete_fields}
    keys = ("day", *CUBE_COLUMNS.values())
    if any(g not in known or g not in keys for g in groups):
        raise ValueError(group_by)
    if any(f not in known or f in keys for f in fields):
        raise ValueError(fields)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    where, params = ["day >= %s", "day <= %s"], [s.start, s.end]
    if s.team_ids is not None:
        if not s.team_ids:
            return []
        where.append(f"team_id IN ({', '.join(['%s'] * len(s.team_ids))})")
        params.extend(s.team_ids)
    if s.agent_id is not None:
        where.append("agent_id = %s")
        params.append(s.agent_id)
    for name in ("channel", "kind", "tier"):
        if getattr(s, name):
            where.append(f"{quote(name)} = %s")
            params.append(getattr(s, name))
    # Sums of bigint columns come back as bigint too (PostgreSQL would make them numeric).
    columns = ", ".join(f"CAST(SUM({quote(f)}) AS BIGINT)" for f in fields)
    grouped = ", ".join(quote(g) for g in groups)
    group = f"{grouped}, " if groups else ""
    # Identifiers are this model's own columns, quoted; every value is a parameter.
    sql = f"SELECT {group}{columns} FROM {table} WHERE {' AND '.join(where)}"  # noqa: S608  # nosec B608
    if groups:
        sql += f" GROUP BY {grouped}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [*groups, *fields]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sum_rows(rows, fields) -> dict:
    return {name: sum(row[name] or 0 for row in rows) for name in fields}
