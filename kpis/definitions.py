"""Every KPI once: its written definition, its unit, and the one formula that computes it.

The dashboard, the API and the CSV export all read figures through ``kpis.selectors``, which
gathers sums (from the rollups or from bounded aggregate queries) and hands them to the
formulas here. A figure is never computed a second way.

Vocabulary used in the definitions:

* *period*: whole local days ``[from, to]`` in the business time zone (``settings.TIME_ZONE``);
  a timestamp belongs to the day of its local date.
* *agent*: the ticket's assignee, or its owner (the first agent who replied) when it has none.
* *merged* tickets (duplicates merged into another ticket) count in no ticket figure.
* SLA clocks: a clock *stopped in the period* is ``met`` or ``breached`` with its ``stopped_at``
  in the period; ``used`` is the time used in the target's calendar (business time), the
  calendar time is ``stopped_at − started_at``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from tickets.choices import SlaMetric

# --- Histograms ---------------------------------------------------------------------------------

# Bucket edges in minutes. Bucket ``i`` holds durations ``edges[i] <= d < edges[i + 1]``; the last
# bucket is open (one week and more). Fine where the targets are (15 min, 24 h, 48 h).
HISTOGRAM_EDGES_MINUTES: tuple[int, ...] = (
    0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 90, 120, 180, 240, 360, 480,
    720, 960, 1440, 2160, 2880, 4320, 7200, 10080,
)  # fmt: skip
HISTOGRAM_BUCKETS = len(HISTOGRAM_EDGES_MINUTES)


def histogram_bucket(seconds: float) -> int:
    """The bucket of a duration in seconds (negative durations count as zero)."""
    return max(bisect_right(HISTOGRAM_EDGES_MINUTES, max(seconds, 0) / 60) - 1, 0)


def histogram_percentile(counts: Sequence[int], fraction: float) -> float | None:
    """The ``fraction`` quantile, in minutes, of a histogram of bucket counts.

    Rank ``r = fraction × n``; the value lies in the first bucket whose cumulative count
    reaches ``r`` and is interpolated linearly inside it (lower edge + width × share of the
    bucket needed). In the open last bucket the answer is its lower edge (one week).
    ``None`` when the histogram is empty.
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = fraction * total
    below = 0
    for i, count in enumerate(counts):
        if count and below + count >= rank:
            lower = HISTOGRAM_EDGES_MINUTES[i]
            if i + 1 == len(HISTOGRAM_EDGES_MINUTES):
                return float(lower)
            width = HISTOGRAM_EDGES_MINUTES[i + 1] - lower
            return lower + width * (rank - below) / count
        below += count
    return float(HISTOGRAM_EDGES_MINUTES[-1])


# --- Formulas -----------------------------------------------------------------------------------


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator ÷ denominator`` as a percentage; ``None`` (no figure, not 0 %) without cases."""
    if not denominator:
        return None
    return 100.0 * numerator / denominator


def per_thousand(count: float, orders: float) -> float | None:
    if not orders:
        return None
    return 1000.0 * count / orders


def mean(total: float, count: float) -> float | None:
    if not count:
        return None
    return total / count


def nps(promoters: int, detractors: int, responses: int) -> float | None:
    """% promoters (9–10) − % detractors (0–6); ``None`` without responses."""
    if not responses:
        return None
    return 100.0 * (promoters - detractors) / responses


# --- The metrics --------------------------------------------------------------------------------

HIGHER = "higher"  # higher is better: the target is a minimum
LOWER = "lower"  # lower is better: the target is a maximum

PERCENT = "percent"
MINUTES = "minutes"
HOURS = "hours"
COUNT = "count"
SCORE = "score"
MONEY = "money"
RATE = "per_1000_orders"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    direction: str  # HIGHER or LOWER: which way is good, for the target colour
    definition: str
    group: str


def _m(key, label, unit, direction, group, definition) -> Metric:
    return Metric(key, label, unit, direction, definition, group)


TICKETS = _("Tickets")
RESPONSE = _("Response and handling")
SLA = _("SLA")
BACKLOG = _("Backlog")
SATISFACTION = _("Satisfaction")
COMPLAINTS = _("Complaints")
RETURNS = _("Returns and refunds")

_TIMES = {
    "frt": (
        _("First response"),
        _(
            "first_response clocks (cycle 1) stopped in the period: calendar time from the "
            "ticket's creation to the first public agent reply (or to solving it), and business "
            "time as the clock's stored used time"
        ),
    ),
    "handling": (
        _("Handling time (preliminary solution)"),
        _(
            "handling clocks stopped in the period: calendar time from the ticket's creation "
            "until a solution or next step was with the customer (the first time the ticket "
            "went to pending after a public agent reply, or was solved), and business time as "
            "the clock's used time, without the time on hold; complaint and after-sales "
            "tickets are measured by acceptance and plan instead"
        ),
    ),
    "closure": (
        _("Closure time (闭环)"),
        _(
            "closure clocks stopped in the period: calendar time from the ticket's creation to "
            "its solve (not the automatic close after it), and business time as the clock's "
            "used time, without the time the ticket waited on the customer or a third party "
            "(pending, on hold); a ticket reopened and solved again counts once, at its last "
            "solve, with its total used time"
        ),
    ),
}

PERCENTILE_STATS = {
    "median": (_("median"), 0.5),
    "p90": (_("90th percentile"), 0.9),
}

METRICS: dict[str, Metric] = {}


def _add(metric: Metric) -> None:
    METRICS[metric.key] = metric


_add(
    _m(
        "tickets_created",
        _("Tickets created"),
        COUNT,
        HIGHER,
        TICKETS,
        _("Tickets created in the period, merged duplicates excluded."),
    )
)
_add(
    _m(
        "tickets_solved",
        _("Tickets solved"),
        COUNT,
        HIGHER,
        TICKETS,
        _(
            "Tickets whose last solve falls in the period (a ticket reopened and solved again "
            "counts once, on the day of its last solve), merged duplicates excluded."
        ),
    )
)
_add(
    _m(
        "resolution_rate",
        _("Resolution rate"),
        PERCENT,
        HIGHER,
        TICKETS,
        _(
            "Of the tickets created in the period, the share no longer open now (solved or "
            "closed). A ticket reopened after its solve counts as open again; tickets still "
            "being worked count against the rate, so the latest days read low until their "
            "tickets end. Merged duplicates are left out."
        ),
    )
)
_add(
    _m(
        "fcr_rate",
        _("First-contact resolution"),
        PERCENT,
        HIGHER,
        TICKETS,
        _(
            "Of the tickets solved in the period, the share solved with exactly one public agent "
            "reply (internal notes and automated messages do not count) and never reopened."
        ),
    )
)
_add(
    _m(
        "reopen_rate",
        _("Reopen rate"),
        PERCENT,
        LOWER,
        TICKETS,
        _("Of the tickets solved in the period, the share that were reopened at least once."),
    )
)
for _prefix, (_label, _population) in _TIMES.items():
    for _cal, _cal_label in (("cal", _("calendar")), ("bus", _("business"))):
        for _stat, (_stat_label, _fraction) in PERCENTILE_STATS.items():
            _add(
                _m(
                    f"{_prefix}_{_stat}_{_cal}",
                    format_lazy("{}, {} ({})", _label, _stat_label, _cal_label),
                    MINUTES,
                    LOWER,
                    RESPONSE,
                    format_lazy(
                        _(
                            "Over {population}: the {stat} in minutes, from a histogram of the "
                            "durations (buckets of 1 min below 6 min, widening to 1 day beyond "
                            "2 days), interpolated linearly inside the bucket."
                        ),
                        population=_population,
                        stat=_stat_label,
                    ),
                )
            )
        _add(
            _m(
                f"{_prefix}_mean_{_cal}",
                format_lazy("{}, {} ({})", _label, _("mean"), _cal_label),
                MINUTES,
                LOWER,
                RESPONSE,
                format_lazy(
                    _("Over {population}: the exact mean in minutes."), population=_population
                ),
            )
        )
_add(
    _m(
        "frt_within_target",
        _("Answered within target"),
        PERCENT,
        HIGHER,
        RESPONSE,
        _(
            "Of the first_response clocks stopped in the period, the share met (first reply "
            "before the due time): met ÷ (met + breached)."
        ),
    )
)
# The metrics as tickets declares them (SlaMetric), in its order.
SLA_METRICS: tuple[str, ...] = tuple(SlaMetric.values)
_SLA_LABELS = {
    SlaMetric.FIRST_RESPONSE: _("First response"),
    SlaMetric.NEXT_RESPONSE: _("Next response"),
    SlaMetric.HANDLING: _("Handling"),
    SlaMetric.CLOSURE: _("Closure"),
    SlaMetric.ACCEPTANCE: _("Acceptance (受理)"),
    SlaMetric.PLAN: _("Handling plan (处理方案)"),
}
# What meets each metric's clock (sla.md, "Metrics"), for the definitions below.
_SLA_MEANINGS = {
    SlaMetric.FIRST_RESPONSE: _(
        "the first public agent reply (or the solve) within the target: 15 minutes by default, "
        "5 in chat and live-stream rooms"
    ),
    SlaMetric.NEXT_RESPONSE: _(
        "each answer to a customer message that waited after the first response, within the "
        "target (5 minutes in chat and live-stream rooms; off elsewhere by default)"
    ),
    SlaMetric.HANDLING: _(
        "a preliminary solution with the customer (the ticket first set pending after a public "
        "reply, or solved) within the target, 24 hours by default, time on hold not counted"
    ),
    SlaMetric.CLOSURE: _(
        "the ticket solved within the target, 48 hours by default, time pending or on hold not "
        "counted; a reopened ticket is judged again at its next solve"
    ),
    SlaMetric.ACCEPTANCE: _(
        "a complaint, return or after-sales case accepted (受理: the complaint accepted, the "
        "return request decided, or an agent's Accept) within the target, 24 hours by default"
    ),
    SlaMetric.PLAN: _(
        "a handling plan given (the complaint's plan proposed, the return approved, or an "
        "after-sales reply sent as the plan) within the target, 48 hours by default"
    ),
}
for _metric in SLA_METRICS:
    _add(
        _m(
            f"sla_{_metric}",
            format_lazy("{}: {}", _("SLA compliance"), _SLA_LABELS[_metric]),
            PERCENT,
            HIGHER,
            SLA,
            format_lazy(
                _(
                    "Clocks of this metric that stopped in the period, met when {meaning}: "
                    "met ÷ (met + breached). Cancelled clocks do not count."
                ),
                meaning=_SLA_MEANINGS[_metric],
            ),
        )
    )
_add(
    _m(
        "sla_all",
        _("SLA compliance (all metrics)"),
        PERCENT,
        HIGHER,
        SLA,
        _("All clocks that stopped in the period, every metric: met ÷ (met + breached)."),
    )
)
_add(
    _m(
        "breached_now",
        _("Breached now"),
        COUNT,
        LOWER,
        SLA,
        _("Clocks breached and still running now (the ticket still owes that promise)."),
    )
)
_add(
    _m(
        "backlog",
        _("Backlog"),
        COUNT,
        LOWER,
        BACKLOG,
        _(
            "Open tickets now (new, open, pending, on hold), by age since creation "
            "(< 1 h, 1–4 h, 4–24 h, 1–2 d, > 2 d) and by status. Not limited to the period."
        ),
    )
)
_add(
    _m(
        "csat",
        _("CSAT"),
        PERCENT,
        HIGHER,
        SATISFACTION,
        _(
            "CSAT responses answered in the period (scale 1–5): the share of 4 and 5. No "
            "responses: no figure, not 0 %."
        ),
    )
)
_add(
    _m(
        "csat_mean",
        _("CSAT mean score"),
        SCORE,
        HIGHER,
        SATISFACTION,
        _("CSAT responses answered in the period: the mean score (1–5)."),
    )
)
_add(
    _m(
        "csat_response_rate",
        _("CSAT response rate"),
        PERCENT,
        HIGHER,
        SATISFACTION,
        _(
            "CSAT invitations sent in the period: the share that have been answered (whenever "
            "the answer came)."
        ),
    )
)
_add(
    _m(
        "nps",
        _("NPS"),
        SCORE,
        HIGHER,
        SATISFACTION,
        _(
            "NPS responses answered in the period (0–10): % promoters (9–10) − % detractors "
            "(0–6), from −100 to 100."
        ),
    )
)
_add(
    _m(
        "complaint_satisfaction",
        _("Complaint-handling satisfaction"),
        PERCENT,
        HIGHER,
        SATISFACTION,
        _(
            "Complaint-satisfaction survey responses answered in the period (1–5): the share "
            "of 4 and 5."
        ),
    )
)
_add(
    _m(
        "complaints_per_1000_orders",
        _("Complaints per 1,000 orders"),
        RATE,
        LOWER,
        COMPLAINTS,
        _(
            "Complaints created in the period × 1,000 ÷ orders placed in the period (orders "
            "filtered by channel and customer tier only: they have no team, agent or kind)."
        ),
    )
)
_add(
    _m(
        "complaints_accepted_24h",
        _("Complaints accepted within 24 h"),
        PERCENT,
        HIGHER,
        COMPLAINTS,
        _(
            "Complaints created in the period whose outcome is known (accepted, or created "
            "more than 24 h ago): the share accepted within 24 hours of creation."
        ),
    )
)
_add(
    _m(
        "returns_per_1000_orders",
        _("Return requests per 1,000 orders"),
        RATE,
        LOWER,
        RETURNS,
        _(
            "Return, refund and exchange requests created in the period × 1,000 ÷ orders "
            "placed in the period."
        ),
    )
)
_add(
    _m(
        "refund_amount",
        _("Refund amount"),
        MONEY,
        LOWER,
        RETURNS,
        _("Refunds paid out (succeeded) with their settlement in the period: the sum."),
    )
)
_add(
    _m(
        "refund_hours_mean",
        _("Request to refund, mean"),
        HOURS,
        LOWER,
        RETURNS,
        _(
            "Refunds of a return request paid out in the period: the mean calendar time in "
            "hours from the request's creation to the settlement."
        ),
    )
)
_add(
    _m(
        "refund_within_3_working_days",
        _("Refunded within 3 working days of receipt"),
        PERCENT,
        HIGHER,
        RETURNS,
        _(
            "Return requests whose goods were received and that were refunded in the period: "
            "the share refunded before the refunds deadline (received + the refund rules' "
            "working days on their working-day calendar) was recorded as missed."
        ),
    )
)

TARGET_DEFAULTS: dict[str, tuple[float, str]] = {
    # metric key: (target value, direction); product.md and sla.md.
    "resolution_rate": (95.0, HIGHER),
    "complaint_satisfaction": (85.0, HIGHER),
    "frt_within_target": (90.0, HIGHER),
    "sla_first_response": (90.0, HIGHER),
    "sla_handling": (90.0, HIGHER),
    "sla_closure": (90.0, HIGHER),
    "sla_acceptance": (95.0, HIGHER),
    "sla_plan": (95.0, HIGHER),
    "frt_median_cal": (15.0, LOWER),
    "handling_median_cal": (24 * 60.0, LOWER),
    "closure_median_cal": (48 * 60.0, LOWER),
    "csat": (85.0, HIGHER),
    "complaints_accepted_24h": (100.0, HIGHER),
    "refund_within_3_working_days": (100.0, HIGHER),
}


def meets_target(value: float | None, target: float, direction: str) -> bool | None:
    """Green (True), red (False), or no colour (None) when there is no figure."""
    if value is None:
        return None
    return value >= target if direction == HIGHER else value <= target
