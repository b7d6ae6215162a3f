"""``seed_demo``: CSAT, NPS and complaint surveys as the sweep would have sent them."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

import pytest

from complaints.choices import ComplaintStatus
from complaints.models import Complaint
from demo import complaints as complaints_demo
from orders.models import Order
from surveys.choices import InvitationReason, InvitationStatus, SurveyKind
from surveys.models import SurveyCooldown, SurveyInvitation, SurveyResponse, SurveySettings
from surveys.tokens import token_for, token_hash
from tests.seeding import DEMO_NOW, seed_demo_at
from tickets.choices import TicketKind, TicketStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ORDERS = 600
TICKETS = 1_500
NOW = DEMO_NOW
IS = InvitationStatus
K = SurveyKind


@pytest.fixture(autouse=True)
def _more_complaints(monkeypatch):
    monkeypatch.setattr(complaints_demo, "COMPLAINT_RATE", 0.05)


def seed(orders: int = ORDERS, tickets: int = TICKETS) -> str:
    return seed_demo_at(orders=orders, tickets=tickets)


def row_counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count() for m in (SurveyInvitation, SurveyResponse, SurveyCooldown)
    }


def test_every_solved_ticket_but_complaints_has_one_csat_invitation_attributed_like_it():
    seed()

    solved = Ticket.objects.filter(status__in=(TicketStatus.SOLVED, TicketStatus.CLOSED)).exclude(
        kind=TicketKind.COMPLAINT
    )
    invitations = SurveyInvitation.objects.filter(kind=K.CSAT).select_related("ticket")
    assert set(invitations.values_list("ticket_id", flat=True)) == set(
        solved.values_list("pk", flat=True)
    )
    config = SurveySettings.load()
    for i in invitations:
        t = i.ticket
        assert (i.customer_id, i.order_id, i.team_id, i.channel, i.ticket_kind) == (
            t.customer_id,
            t.order_id,
            t.team_id,
            t.channel,
            t.kind,
        )
        assert i.agent_id == (t.assignee_id or t.owner_id)
        assert i.trigger_at == t.solved_at
        assert i.send_after == t.solved_at + timedelta(hours=config.csat_delay_hours)
        assert i.token_hash == token_hash(token_for(i.token_nonce))
        if i.sent_at:
            assert i.send_after <= i.sent_at < i.send_after + timedelta(minutes=1)
            assert i.expires_at == i.sent_at + timedelta(days=config.expiry_days)
        if i.status == IS.SCHEDULED:
            assert i.send_after > NOW


def test_about_a_quarter_answer_mostly_satisfied_and_answers_copy_the_attribution():
    seed()

    sent = SurveyInvitation.objects.filter(kind=K.CSAT, sent_at__isnull=False)
    responses = SurveyResponse.objects.filter(kind=K.CSAT).select_related("invitation")
    assert 0.15 <= responses.count() / sent.count() <= 0.4
    satisfied = responses.filter(score__gte=4).count()
    assert satisfied >= 0.65 * responses.count()
    for r in responses:
        i = r.invitation
        assert i.status == IS.ANSWERED
        assert i.answered_at == r.answered_at
        assert i.sent_at < r.answered_at < i.expires_at <= NOW + timedelta(days=7)
        assert (r.agent_id, r.team_id, r.channel, r.ticket_kind, r.ticket_id) == (
            i.agent_id,
            i.team_id,
            i.channel,
            i.ticket_kind,
            i.ticket_id,
        )
        assert r.needs_follow_up == (r.score <= 2)
    assert not SurveyInvitation.objects.filter(status=IS.SENT, expires_at__lte=NOW).exists()


def test_a_customer_gets_at_most_one_survey_of_a_family_within_its_cooldown():
    seed()

    config = SurveySettings.load()
    cooldowns = {K.CSAT: config.csat_cooldown_days, K.NPS: config.nps_cooldown_days}
    sent = defaultdict(list)
    for customer, kind, at in SurveyInvitation.objects.filter(
        kind__in=cooldowns, sent_at__isnull=False
    ).values_list("customer_id", "kind", "sent_at"):
        sent[(customer, kind)].append(at)
    for (customer, kind), moments in sent.items():
        moments.sort()
        gaps = [b - a for a, b in pairwise(moments)]
        assert all(gap >= timedelta(days=cooldowns[kind]) for gap in gaps)
        cooldown = SurveyCooldown.objects.get(customer_id=customer, kind=kind)
        assert cooldown.last_sent_at == moments[-1]
    skipped = SurveyInvitation.objects.filter(status=IS.SKIPPED)
    assert skipped.filter(reason=InvitationReason.COOLDOWN).exists()


def test_completed_orders_get_nps_and_closed_complaints_their_satisfaction_survey():
    seed()

    completed = Order.objects.filter(completed_at__isnull=False)
    nps = SurveyInvitation.objects.filter(kind=K.NPS)
    assert set(nps.values_list("order_id", flat=True)) == set(
        completed.values_list("pk", flat=True)
    )
    scores = SurveyResponse.objects.filter(kind=K.NPS).values_list("score", flat=True)
    assert scores
    assert all(0 <= s <= 10 for s in scores)
    closed = Complaint.objects.filter(status=ComplaintStatus.CLOSED)
    assert closed.exists()
    by_complaint = {i.complaint_id: i for i in SurveyInvitation.objects.filter(kind=K.COMPLAINT)}
    assert set(by_complaint) == set(closed.values_list("pk", flat=True))
    for c in closed:
        i = by_complaint[c.pk]
        assert (i.ticket_id, i.complaint_number, i.trigger_at) == (
            c.ticket_id,
            c.number,
            c.closed_at,
        )


def test_running_twice_creates_nothing_new():
    seed()
    before = row_counts()

    output = seed()

    assert row_counts() == before
    assert "surveys: created nothing (all present)" in output


def test_the_same_surveys_come_back_when_seeded_again():
    def contents():
        return {
            (i.kind, i.ticket_id or i.order_id or i.complaint_id): (
                i.status,
                i.token_hash,
                i.sent_at,
                getattr(getattr(i, "response", None), "score", None),
            )
            for i in SurveyInvitation.objects.select_related("response")
        }

    seed()
    first = contents()
    SurveyResponse.objects.all().delete()
    SurveyInvitation.objects.all().delete()

    seed()

    assert contents() == first
