"""A CSAT of 1 or 2, or an NPS of 0–6, opens a follow-up (回访) ticket for the team supervisor,
with the comment and a link to the original ticket; once."""

import pytest

from orders.choices import OrderStatus
from surveys.choices import InvitationStatus, SurveyKind
from surveys.models import SurveyResponse
from surveys.services import survey_answer, survey_follow_up_open
from surveys.sweeper import CATCH_UP_AFTER
from tests.factories import OrderFactory, SurveyInvitationFactory
from tests.surveys.helpers import DAY, T0, Desk, csat_of, solve, sweep
from tickets.choices import TicketEventType
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def answer(invitation, score, capture, comment="", at=T0 + 2 * DAY):
    with capture(execute=True):
        return survey_answer(invitation=invitation, score=score, comment=comment, now=at)


def sent_csat(desk, capture):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, capture)
    sweep(T0 + DAY, capture)
    return csat_of(ticket)


def test_a_csat_of_2_opens_a_follow_up_for_the_team_supervisor(
    desk, django_capture_on_commit_callbacks
):
    invitation = sent_csat(desk, django_capture_on_commit_callbacks)
    original = invitation.ticket
    response = answer(
        invitation, 2, django_capture_on_commit_callbacks, comment="态度敷衍，问题没解决"
    )

    response.refresh_from_db()
    follow_up = response.follow_up_ticket
    assert follow_up is not None
    assert (follow_up.team, follow_up.assignee) == (desk.team, desk.supervisor)
    assert follow_up.linked_from == original
    assert follow_up.customer == original.customer
    body = follow_up.messages.get().body
    assert "态度敷衍，问题没解决" in body
    assert original.number in body
    assert f"/desk/tickets/{original.number}/" in body
    assert original.number in follow_up.subject
    # The original ticket's timeline shows the follow-up.
    assert TicketEvent.objects.filter(
        ticket=original, type=TicketEventType.FOLLOW_UP, new_value=follow_up.number
    ).exists()


@pytest.mark.parametrize(
    ("kind", "score", "opens"),
    [
        (SurveyKind.CSAT, 1, True),
        (SurveyKind.CSAT, 2, True),
        (SurveyKind.CSAT, 3, False),
        (SurveyKind.CSAT, 5, False),
        (SurveyKind.NPS, 0, True),
        (SurveyKind.NPS, 6, True),
        (SurveyKind.NPS, 7, False),
        (SurveyKind.NPS, 10, False),
    ],
)
def test_only_low_scores_open_a_follow_up(
    desk, django_capture_on_commit_callbacks, kind, score, opens
):
    if kind == SurveyKind.NPS:
        order = OrderFactory(status=OrderStatus.COMPLETED)
        invitation = SurveyInvitationFactory(
            kind=kind, ticket=None, order=order, customer=order.customer, team=desk.team
        )
    else:
        invitation = SurveyInvitationFactory(ticket=desk.ticket())
    answer(invitation, score, django_capture_on_commit_callbacks, at=invitation.sent_at)

    response = SurveyResponse.objects.get(invitation=invitation)
    assert (response.follow_up_ticket is not None) is opens
    assert response.needs_follow_up is opens


def test_an_nps_follow_up_names_the_order(desk, django_capture_on_commit_callbacks):
    order = OrderFactory(status=OrderStatus.COMPLETED)
    invitation = SurveyInvitationFactory(
        kind=SurveyKind.NPS, ticket=None, order=order, customer=order.customer, team=desk.team
    )
    response = answer(invitation, 3, django_capture_on_commit_callbacks, at=invitation.sent_at)

    follow_up = SurveyResponse.objects.get(pk=response.pk).follow_up_ticket
    assert follow_up.order == order
    assert follow_up.linked_from is None
    assert order.number in follow_up.messages.get().body
    assert follow_up.assignee == desk.supervisor


def test_the_follow_up_is_opened_once(desk, django_capture_on_commit_callbacks):
    invitation = sent_csat(desk, django_capture_on_commit_callbacks)
    response = answer(invitation, 1, django_capture_on_commit_callbacks)
    before = Ticket.objects.count()

    assert survey_follow_up_open(response_id=response.pk) is None
    sweep(T0 + 3 * DAY, django_capture_on_commit_callbacks)
    assert Ticket.objects.count() == before


def test_a_lost_follow_up_task_is_caught_up_by_the_sweep(desk, django_capture_on_commit_callbacks):
    invitation = sent_csat(desk, django_capture_on_commit_callbacks)
    # Answered, but the task queued after commit never ran (captured and dropped here).
    with django_capture_on_commit_callbacks(execute=False):
        response = survey_answer(invitation=invitation, score=1, now=T0 + 2 * DAY)
    assert SurveyResponse.objects.get(pk=response.pk).follow_up_ticket is None

    sweep(T0 + 2 * DAY + CATCH_UP_AFTER, django_capture_on_commit_callbacks)
    assert SurveyResponse.objects.get(pk=response.pk).follow_up_ticket is not None


def test_a_follow_up_ticket_is_not_itself_surveyed(desk, django_capture_on_commit_callbacks):
    invitation = sent_csat(desk, django_capture_on_commit_callbacks)
    response = answer(invitation, 1, django_capture_on_commit_callbacks)
    follow_up = SurveyResponse.objects.get(pk=response.pk).follow_up_ticket

    solve(follow_up, desk.supervisor, T0 + 3 * DAY, django_capture_on_commit_callbacks)
    assert csat_of(follow_up) is None


def test_a_supervisor_outside_the_team_still_finds_it_in_the_team_queue(
    django_capture_on_commit_callbacks,
):
    desk = Desk(supervisor_is_member=False)
    invitation = SurveyInvitationFactory(ticket=desk.ticket())
    response = answer(invitation, 2, django_capture_on_commit_callbacks, at=invitation.sent_at)

    follow_up = SurveyResponse.objects.get(pk=response.pk).follow_up_ticket
    assert follow_up.team == desk.team
    assert follow_up.assignee != desk.supervisor
    assert invitation.status == InvitationStatus.SENT  # the caller's copy; the row is answered


def test_a_ticket_moved_out_of_its_routed_team_follows_up_with_the_routed_supervisor(
    django_capture_on_commit_callbacks,
):
    routed = Desk()  # where routing sends new tickets
    moved_to = Desk(routes_here=False)  # the original ticket was moved here by hand
    invitation = SurveyInvitationFactory(ticket=moved_to.ticket())
    response = answer(invitation, 1, django_capture_on_commit_callbacks, at=invitation.sent_at)

    follow_up = SurveyResponse.objects.get(pk=response.pk).follow_up_ticket
    assert (follow_up.team, follow_up.assignee) == (routed.team, routed.supervisor)


def test_the_follow_up_is_handed_over_by_the_system_not_in_the_supervisors_name(
    django_capture_on_commit_callbacks,
):
    routed = Desk()
    moved_to = Desk(routes_here=False)
    invitation = SurveyInvitationFactory(ticket=moved_to.ticket())
    response = answer(invitation, 1, django_capture_on_commit_callbacks, at=invitation.sent_at)

    follow_up = SurveyResponse.objects.get(pk=response.pk).follow_up_ticket
    handed_over = TicketEvent.objects.filter(ticket=follow_up, type=TicketEventType.ASSIGNEE)
    assert list(handed_over.values_list("actor_kind", "actor_user", "new_value")) == [
        ("system", None, routed.supervisor.get_username())
    ]
