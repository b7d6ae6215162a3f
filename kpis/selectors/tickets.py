"""Ticket and SLA figures of a period, from the ticket rollups (sums and histograms)."""

from __future__ import annotations

from kpis import definitions as d
from kpis.models import CALENDARS, TIMED, rollup_histogram_field
from kpis.selectors.rollup_sums import CUBE, rollup_sums
from kpis.selectors.slices import Slice

HISTOGRAM_FIELDS = {
    (timed, cal): tuple(rollup_histogram_field(timed, cal, b) for b in range(d.HISTOGRAM_BUCKETS))
    for timed in TIMED
    for cal in CALENDARS
}


def _histogram(sums: dict, timed: str, cal: str) -> list[int]:
    return [sums.get(name) or 0 for name in HISTOGRAM_FIELDS[timed, cal]]


def ticket_figures(sums: dict) -> dict:
    """Ticket and SLA figures from summed rollup columns (missing columns count as zero)."""

    def v(name):
        return sums.get(name) or 0

    out = {
        "tickets_created": v("created"),
        "tickets_solved": v("solved"),
        "resolution_rate": d.ratio(v("finished"), v("created")),
        "fcr_rate": d.ratio(v("fcr"), v("solved")),
        "reopen_rate": d.ratio(v("reopened"), v("solved")),
    }
    for timed in TIMED:
        for cal in CALENDARS:
            histogram = _histogram(sums, timed, cal)
            for stat, (_label, fraction) in d.PERCENTILE_STATS.items():
                out[f"{timed}_{stat}_{cal}"] = d.histogram_percentile(histogram, fraction)
            out[f"{timed}_mean_{cal}"] = d.mean(
                v(f"{timed}_{cal}_seconds") / 60, v(f"{timed}_count")
            )
    out["frt_within_target"] = d.ratio(v("frt_met"), v("frt_count"))
    met_all = breached_all = 0
    for metric in d.SLA_METRICS:
        met, breached = v(f"sla_{metric}_met"), v(f"sla_{metric}_breached")
        out[f"sla_{metric}"] = d.ratio(met, met + breached)
        met_all += met
        breached_all += breached
    out["sla_all"] = d.ratio(met_all, met_all + breached_all)
    return out


def ticket_cube(s: Slice) -> list[dict]:
    """The slice's sums per team × channel × kind × tier (a few hundred rows at most), from
    which the dashboard takes its totals and its breakdowns in one scan."""
    return rollup_sums(s, group_by=CUBE)
