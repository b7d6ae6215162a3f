"""Survey figures of a period (CSAT, NPS, satisfaction with complaint handling), from the
surveys per day."""

from __future__ import annotations

from collections import defaultdict

from kpis import definitions as d
from kpis.models import SURVEY_MEASURES, SURVEY_ROLLUPS
from kpis.selectors.rollup_sums import CUBE, rollup_sums, sum_rows
from kpis.selectors.slices import Slice


def survey_sums(
    s: Slice,
    group_by: str | tuple[str, ...] | None = None,
    *,
    cube_rows: list[dict] | None = None,
):
    """The survey counts of the slice, from the surveys per day; per value of ``group_by``
    (rollup columns) when given. From the slice's ``survey_cube`` when already read and it
    holds the columns."""
    groups = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    if cube_rows is not None and set(groups) <= set(CUBE):
        if not groups:
            return sum_rows(cube_rows, SURVEY_MEASURES)
        members: dict[tuple, list[dict]] = defaultdict(list)
        for row in cube_rows:
            members[tuple(row[g] for g in groups)].append(row)
        return [
            {**dict(zip(groups, key, strict=True)), **sum_rows(rows, SURVEY_MEASURES)}
            for key, rows in members.items()
        ]
    rows = rollup_sums(s, fields=SURVEY_MEASURES, group_by=groups, family=SURVEY_ROLLUPS)
    if groups:
        return rows
    return rows[0] if rows else {}


def survey_cube(s: Slice) -> list[dict]:
    """The slice's survey counts per team × channel × kind × tier (a few hundred rows), from
    which the dashboard takes its survey totals and its breakdowns in one scan."""
    return survey_sums(s, group_by=CUBE)


def survey_figures(sums: dict) -> dict:
    def v(name):
        return sums.get(name) or 0

    return {
        "csat": d.ratio(v("csat_good"), v("csat_n")),
        "csat_mean": d.mean(v("csat_total"), v("csat_n")),
        "csat_response_rate": d.ratio(v("csat_answered"), v("csat_sent")),
        "nps": d.nps(v("nps_promoters"), v("nps_detractors"), v("nps_n")),
        "complaint_satisfaction": d.ratio(v("complaint_good"), v("complaint_n")),
    }
