"""The rollup path and a direct computation from the source rows agree, on random data.

The direct computation below reads every ticket, message and clock into Python and applies the
written definitions one ticket at a time: slow, obvious, and independent of the facts, the day
rollups and the SQL that sums them. Random tickets are arranged straight in the tables, then
some change after the rollups were built, and the incremental refresh must catch up.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from kpis import definitions as d
from kpis.rollups.days import local_day
from kpis.rollups.refresh import kpis_rebuild, kpis_refresh
from kpis.selectors.commerce import complaint_breakdown, complaint_cube
from kpis.selectors.period import agent_leaderboard, dimension_breakdown, period_figures
from kpis.selectors.slices import Slice
from kpis.selectors.surveys import survey_cube
from kpis.selectors.tickets import ticket_cube
from tests.factories import CustomerFactory, TeamFactory, TicketFactory, UserFactory
from tickets.choices import AuthorKind, TicketStatus
from tickets.models import ClockStatus, Message, SlaClock, Ticket

from .conftest import at

START = at(16, 0)
SPAN_MINUTES = 3 * 24 * 60
CHANNELS = ("web", "chat", "phone")
KINDS = ("inquiry", "order_issue")
STATUSES = ("new", "open", "pending", "solved", "closed")


def random_runs(examples: int):
    """Hypothesis settings for these tests: each example arranges rows in the database."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


clock = st.one_of(
    st.none(),
    st.tuples(
        st.integers(0, 3000),  # minutes from creation to the stop
        st.integers(0, 3000),  # business minutes used
        st.booleans(),  # met
    ),
)
ticket = st.fixed_dictionaries(
    {
        "created": st.integers(0, SPAN_MINUTES),
        "status": st.sampled_from(STATUSES),
        "team": st.integers(0, 1),
        "agent": st.one_of(st.none(), st.integers(0, 2)),
        "channel": st.sampled_from(CHANNELS),
        "kind": st.sampled_from(KINDS),
        "vip": st.booleans(),
        "reopens": st.integers(0, 1),
        "replies": st.integers(0, 2),
        "note": st.booleans(),
        "first_response": clock,
        "handling": clock,
        "next_response": clock,
    }
)
change = st.fixed_dictionaries(
    {"index": st.integers(0, 40), "team": st.integers(0, 1), "status": st.sampled_from(STATUSES)}
)


def direct(s: Slice) -> dict:
    """The definitions applied to raw rows, ticket by ticket."""
    tickets = [
        t
        for t in Ticket.objects.select_related("customer")
        if t.merged_into_id is None
        and (s.team_ids is None or t.team_id in s.team_ids)
        and (not s.channel or t.channel == s.channel)
        and (not s.kind or t.kind == s.kind)
        and (not s.tier or t.customer.tier == s.tier)
        and (s.agent_id is None or (t.assignee_id or t.owner_id) == s.agent_id)
    ]
    by_id = {t.pk: t for t in tickets}
    replies = defaultdict(int)
    for m in Message.objects.filter(author_kind=AuthorKind.AGENT, internal=False, automated=False):
        replies[m.ticket_id] += 1

    def in_period(moment) -> bool:
        return moment is not None and s.start <= local_day(moment) <= s.end

    created = [t for t in tickets if in_period(t.created_at)]
    finished = [t for t in created if t.status in ("solved", "closed")]
    solved = [t for t in tickets if t.status in ("solved", "closed") and in_period(t.solved_at)]
    out = {
        "tickets_created": len(created),
        "tickets_solved": len(solved),
        "resolution_rate": d.ratio(len(finished), len(created)),
        "fcr_rate": d.ratio(
            sum(1 for t in solved if t.reopen_count == 0 and replies[t.pk] == 1), len(solved)
        ),
        "reopen_rate": d.ratio(sum(1 for t in solved if t.reopen_count > 0), len(solved)),
    }
    clocks = [
        c
        for c in SlaClock.objects.filter(status__in=(ClockStatus.MET, ClockStatus.BREACHED))
        if c.ticket_id in by_id and in_period(c.stopped_at)
    ]
    for timed, metric in (("frt", "first_response"), ("handling", "handling")):
        mine = [c for c in clocks if c.metric == metric]
        values = {
            "cal": [(c.stopped_at - c.started_at).total_seconds() for c in mine],
            "bus": [c.used.total_seconds() for c in mine],
        }
        for cal, seconds in values.items():
            histogram = [0] * d.HISTOGRAM_BUCKETS
            for value in seconds:
                histogram[d.histogram_bucket(int(value))] += 1
            out[f"{timed}_median_{cal}"] = d.histogram_percentile(histogram, 0.5)
            out[f"{timed}_p90_{cal}"] = d.histogram_percentile(histogram, 0.9)
            out[f"{timed}_mean_{cal}"] = d.mean(sum(int(v) for v in seconds) / 60, len(seconds))
    for metric in ("first_response", "handling", "next_response"):
        mine = [c for c in clocks if c.metric == metric]
        met = sum(1 for c in mine if c.status == ClockStatus.MET)
        out[f"sla_{metric}"] = d.ratio(met, len(mine))
    out["sla_all"] = d.ratio(sum(1 for c in clocks if c.status == ClockStatus.MET), len(clocks))
    return out


class TwoTeamsThreeAgents(TestCase):
    """Two teams, three agents, a regular and a VIP customer, for random data to use."""

    @classmethod
    def setUpTestData(cls):
        cls.teams = [TeamFactory(), TeamFactory()]
        cls.agents = [UserFactory() for _ in range(3)]
        cls.customers = [CustomerFactory(tier="regular"), CustomerFactory(tier="vip")]


class RollupAgreesWithDirectComputation(TwoTeamsThreeAgents):
    def arrange(self, spec: dict) -> Ticket:
        created = START + timedelta(minutes=spec["created"])
        status = spec["status"]
        done = status in ("solved", "closed")
        solved_at = created + timedelta(minutes=30) if done else None
        t = TicketFactory(
            created_at=created,
            updated_at=created,
            status=status,
            team=self.teams[spec["team"]],
            assignee=self.agents[spec["agent"]] if spec["agent"] is not None else None,
            owner=self.agents[0] if spec["replies"] else None,
            channel=spec["channel"],
            kind=spec["kind"],
            customer=self.customers[spec["vip"]],
            reopen_count=spec["reopens"],
            solved_at=solved_at,
            closed_at=created + timedelta(hours=1) if status == "closed" else None,
        )
        for n in range(spec["replies"]):
            Message.objects.create(
                ticket=t,
                author_kind=AuthorKind.AGENT,
                body="好的",
                channel=t.channel,
                created_at=created + timedelta(minutes=n + 1),
            )
        if spec["note"]:
            Message.objects.create(
                ticket=t,
                author_kind=AuthorKind.AGENT,
                internal=True,
                body="备注",
                channel=t.channel,
                created_at=created,
            )
        for metric in ("first_response", "handling", "next_response"):
            if spec[metric] is None:
                continue
            minutes, used, met = spec[metric]
            SlaClock.objects.create(
                ticket=t,
                metric=metric,
                target_minutes=15,
                status=ClockStatus.MET if met else ClockStatus.BREACHED,
                started_at=created,
                stopped_at=created + timedelta(minutes=minutes, seconds=17),
                used=timedelta(minutes=used, seconds=31),
            )
        return t

    def assert_agree(self, now):
        first, last = date(2026, 11, 16), date(2026, 11, 22)
        slices = [
            Slice(start=first, end=last),
            Slice(start=first, end=first),
            Slice(start=date(2026, 11, 17), end=date(2026, 11, 18), team_ids=(self.teams[0].pk,)),
            Slice(start=first, end=last, channel="chat", tier="vip"),
            Slice(start=first, end=last, kind="order_issue", agent_id=self.agents[0].pk),
            Slice(start=first, end=last, agent_id=self.agents[1].pk),
        ]
        for s in slices:
            expected = direct(s)
            # Each slice reads the coarsest rollup that holds it; the dashboard also reads the
            # team × channel × kind × tier cube once and sums it in Python.
            cube_rows = ticket_cube(s)
            paths = [period_figures(s, now=now), period_figures(s, now=now, cube_rows=cube_rows)]
            by_team = dimension_breakdown(s, "team", cube_rows=cube_rows)
            assert sum(r["tickets_created"] for r in by_team) == expected["tickets_created"]
            for got in paths:
                for key, value in expected.items():
                    if value is None:
                        assert got[key] is None, (s, key)
                    else:
                        assert got[key] == pytest.approx(value), (s, key, got[key], value)

    @random_runs(12)
    @given(st.lists(ticket, min_size=1, max_size=25), st.lists(change, max_size=6))
    def test_rollups_agree_after_a_rebuild_and_after_incremental_refreshes(self, specs, changes):
        tickets = [self.arrange(spec) for spec in specs]
        now = START + timedelta(days=5)
        kpis_rebuild(now=now)
        self.assert_agree(now)
        later = now
        for n, c in enumerate(changes):
            t = tickets[c["index"] % len(tickets)]
            later = now + timedelta(minutes=n + 1)
            t.team = self.teams[c["team"]]
            t.status = c["status"]
            t.solved_at = (
                later if c["status"] in (TicketStatus.SOLVED, TicketStatus.CLOSED) else None
            )
            t.reopen_count += 1 if c["status"] == TicketStatus.OPEN else 0
            t.updated_at = later
            t.save()
        kpis_refresh(now=later)
        self.assert_agree(later)


csat_survey = st.fixed_dictionaries(
    {
        "sent": st.integers(0, SPAN_MINUTES),
        "answered_after": st.one_of(st.none(), st.integers(0, 2 * 24 * 60)),  # minutes
        "score": st.integers(1, 5),
        "team": st.one_of(st.none(), st.integers(0, 1)),
        "agent": st.one_of(st.none(), st.integers(0, 2)),
        "channel": st.sampled_from(CHANNELS),
        "kind": st.sampled_from(KINDS),
        "vip": st.booleans(),
    }
)


def direct_csat(s: Slice) -> tuple[dict, dict]:
    """CSAT, its mean and its response rate of the slice, and CSAT per agent, from the
    invitations and responses one by one."""
    from surveys.models import SurveyInvitation, SurveyResponse

    def attributed(row) -> bool:
        return (
            (s.team_ids is None or row.team_id in s.team_ids)
            and (s.agent_id is None or row.agent_id == s.agent_id)
            and (not s.channel or row.channel == s.channel)
            and (not s.kind or row.ticket_kind == s.kind)
            and (not s.tier or row.customer.tier == s.tier)
        )

    def in_period(moment) -> bool:
        return s.start <= local_day(moment) <= s.end

    sent = [
        i
        for i in SurveyInvitation.objects.select_related("customer", "response")
        if attributed(i) and in_period(i.sent_at)
    ]
    answered = [
        r
        for r in SurveyResponse.objects.select_related("customer")
        if attributed(r) and in_period(r.answered_at)
    ]
    scores = [r.score for r in answered]
    per_agent = defaultdict(list)
    for r in answered:
        per_agent[r.agent_id].append(r.score)
    return (
        {
            "csat": d.ratio(sum(1 for x in scores if x >= 4), len(scores)),
            "csat_mean": d.mean(sum(scores), len(scores)),
            "csat_response_rate": d.ratio(
                sum(1 for i in sent if hasattr(i, "response")), len(sent)
            ),
        },
        {
            agent: d.ratio(sum(1 for x in mine if x >= 4), len(mine))
            for agent, mine in per_agent.items()
            if agent is not None
        },
    )


class SurveyRollupsAgreeWithDirectComputation(TwoTeamsThreeAgents):
    """The surveys per day at their three grains (all dimensions, without the agent, per
    agent) give the figures, the breakdowns and the leaderboard that the responses give."""

    def arrange(self, spec: dict) -> None:
        from surveys.choices import InvitationStatus, SurveyKind
        from tests.factories import SurveyInvitationFactory, SurveyResponseFactory

        sent = START + timedelta(minutes=spec["sent"])
        attribution = {
            "team": self.teams[spec["team"]] if spec["team"] is not None else None,
            "agent": self.agents[spec["agent"]] if spec["agent"] is not None else None,
            "channel": spec["channel"],
            "ticket_kind": spec["kind"],
            "customer": self.customers[spec["vip"]],
        }
        answered = spec["answered_after"] is not None
        invitation = SurveyInvitationFactory(
            kind=SurveyKind.CSAT,
            ticket=TicketFactory(status=TicketStatus.SOLVED, customer=attribution["customer"]),
            created_at=sent,
            status=InvitationStatus.ANSWERED if answered else InvitationStatus.SENT,
            **attribution,
        )
        if answered:
            at_ = sent + timedelta(minutes=spec["answered_after"])
            invitation.answered_at = at_
            invitation.save(update_fields=["answered_at"])
            # Attributed, and answered, as its invitation.
            SurveyResponseFactory(invitation=invitation, score=spec["score"])

    @random_runs(10)
    @given(st.lists(csat_survey, min_size=1, max_size=25))
    def test_survey_rollups_agree_with_the_responses(self, specs):
        for spec in specs:
            self.arrange(spec)
        now = START + timedelta(days=6)
        kpis_rebuild(now=now)
        first, last = date(2026, 11, 16), date(2026, 11, 22)
        for s in (
            Slice(start=first, end=last),
            Slice(start=date(2026, 11, 17), end=date(2026, 11, 18)),
            Slice(start=first, end=last, team_ids=(self.teams[1].pk,)),
            Slice(start=first, end=last, channel="chat", tier="vip"),
            Slice(start=first, end=last, kind="order_issue", agent_id=self.agents[0].pk),
            Slice(start=first, end=last, agent_id=self.agents[2].pk),
        ):
            expected, per_agent = direct_csat(s)
            got = period_figures(s, now=now, survey_rows=survey_cube(s))
            for key, value in expected.items():
                assert got[key] == (pytest.approx(value) if value is not None else None), (s, key)
            board = {row["key"]: row["csat"] for row in agent_leaderboard(s)}
            for agent, value in per_agent.items():
                assert board[agent] == pytest.approx(value), (s, agent)


complaint_spec = st.fixed_dictionaries(
    {
        "created": st.integers(0, SPAN_MINUTES),
        "accepted_after": st.one_of(st.none(), st.integers(0, 2 * 24 * 60)),  # minutes
        "category": st.sampled_from(("logistics", "product_quality", "service_attitude")),
        "severity": st.sampled_from(("minor", "major")),
        "channel": st.sampled_from(CHANNELS),
        "ticket": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "team": st.integers(0, 1),
                    "agent": st.one_of(st.none(), st.integers(0, 2)),
                    "kind": st.sampled_from(KINDS),
                }
            ),
        ),
        "vip": st.booleans(),
    }
)
complaint_change = st.fixed_dictionaries({"index": st.integers(0, 40), "accept": st.booleans()})


def direct_complaints(s: Slice, now) -> dict:
    """Complaints of the slice, their share accepted within 24 hours and their split by
    category, from the complaints one by one."""
    from complaints.models import Complaint

    def counts(c) -> bool:
        t = c.ticket
        return (
            s.start <= local_day(c.created_at) <= s.end
            and (s.team_ids is None or (t is not None and t.team_id in s.team_ids))
            and (
                s.agent_id is None
                or (t is not None and (t.assignee_id or t.owner_id) == s.agent_id)
            )
            and (not s.channel or c.channel == s.channel)
            and (not s.kind or (t is not None and t.kind == s.kind))
            and (not s.tier or c.customer.tier == s.tier)
        )

    mine = [c for c in Complaint.objects.select_related("ticket", "customer") if counts(c)]
    limit = timedelta(hours=24)
    in_time = [c for c in mine if c.accepted_at and c.accepted_at <= c.created_at + limit]
    decided = [c for c in mine if c.accepted_at or c.created_at <= now - limit]
    categories = defaultdict(int)
    for c in mine:
        categories[c.category] += 1
    return {
        "complaints": len(mine),
        "accepted_24h": d.ratio(len(in_time), len(decided)),
        "by_category": dict(categories),
    }


class ComplaintRollupAgreesWithDirectComputation(TwoTeamsThreeAgents):
    """The complaints per day (older days) and the live count (the last day) together give
    what the complaints give, after a rebuild and after changes caught by the refresh."""

    def arrange(self, spec: dict, now):
        """A complaint as it stands at ``now`` (accepted only if that was before ``now``)."""
        from tests.factories import ComplaintFactory

        created = START + timedelta(minutes=spec["created"])
        ticket = None
        if spec["ticket"] is not None:
            t = spec["ticket"]
            ticket = TicketFactory(
                created_at=created,
                updated_at=created,
                team=self.teams[t["team"]],
                assignee=self.agents[t["agent"]] if t["agent"] is not None else None,
                kind=t["kind"],
                customer=self.customers[spec["vip"]],
            )
        accepted = spec["accepted_after"]
        if accepted is not None and created + timedelta(minutes=accepted) > now:
            accepted = None
        return ComplaintFactory(
            customer=self.customers[spec["vip"]],
            ticket=ticket,
            category=spec["category"],
            severity=spec["severity"],
            channel=spec["channel"],
            created_at=created,
            accepted_at=created + timedelta(minutes=accepted) if accepted is not None else None,
        )

    def assert_agree(self, now):

        first, last = date(2026, 11, 16), date(2026, 11, 19)
        for s in (
            Slice(start=first, end=last),
            Slice(start=first, end=first),
            Slice(start=first, end=last, team_ids=(self.teams[1].pk,)),
            Slice(start=first, end=last, channel="chat", tier="vip"),
            Slice(start=first, end=last, kind="order_issue", agent_id=self.agents[0].pk),
        ):
            expected = direct_complaints(s, now)
            rows = complaint_cube(s, now=now)
            got = period_figures(s, now=now, complaint_rows=rows)
            assert sum(r["n"] for r in rows) == expected["complaints"], s
            if expected["accepted_24h"] is None:
                assert got["complaints_accepted_24h"] is None, s
            else:
                assert got["complaints_accepted_24h"] == pytest.approx(expected["accepted_24h"])
            split = complaint_breakdown(s, rows=rows)["by_category"]
            assert split == expected["by_category"], s

    @random_runs(15)
    @given(
        st.lists(complaint_spec, min_size=1, max_size=20),
        st.lists(complaint_change, max_size=5),
        st.integers(0, 24 * 60),
    )
    def test_complaint_rollup_agrees_with_the_complaints(self, specs, changes, read_after):
        # Read at some moment of the day after the three days complaints are filed on: the
        # days before the last one come from the complaints per day, the last one is counted
        # live.
        now = START + timedelta(minutes=SPAN_MINUTES + read_after)
        complaints = [self.arrange(spec, now) for spec in specs]
        kpis_rebuild(now=now)
        self.assert_agree(now)
        later = now
        for n, c in enumerate(changes):
            complaint = complaints[c["index"] % len(complaints)]
            later = now + timedelta(minutes=n + 1)
            if complaint.ticket is not None:  # moves to the other team
                other = 1 if complaint.ticket.team_id == self.teams[0].pk else 0
                complaint.ticket.team = self.teams[other]
                complaint.ticket.updated_at = later
                complaint.ticket.save()
            if c["accept"] and complaint.accepted_at is None:
                complaint.accepted_at = later
                complaint.updated_at = later
                complaint.save()
        kpis_refresh(now=later)
        self.assert_agree(later)
