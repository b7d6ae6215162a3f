"""CSAT after a solved ticket: the delay, reopen, expiry, cooldown, one per ticket, exclusions,
delivery, the attribution snapshot and the customer's language.

Tickets are solved and reopened through the ticket services, so the real
``ticket_status_changed`` signal (sent on commit) drives the surveys app.
"""

import logging
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from surveys.choices import InvitationReason, InvitationStatus
from surveys.models import SurveyInvitation, SurveySettings
from surveys.receivers import csat_on_ticket_status
from surveys.services import survey_answer, survey_csat_sync
from surveys.tokens import token_for
from tests.factories import CustomerFactory, SurveyInvitationFactory, survey_token
from tests.surveys.helpers import DAY, HOUR, T0, Desk, csat_of, reopen, solve, sweep
from tickets.choices import TicketKind, TicketStatus
from tickets.models import Ticket
from tickets.services import ticket_merge, ticket_update

pytestmark = pytest.mark.django_db

SURVEY_LINK = re.compile(r"/s/([A-Za-z0-9_-]{43})\b")


def test_a_solved_ticket_is_surveyed_24_hours_later_not_before(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)

    invitation = csat_of(ticket)
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_after == T0 + 24 * HOUR

    sweep(T0 + 24 * HOUR - timedelta(minutes=1), django_capture_on_commit_callbacks)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SCHEDULED
    assert mail.outbox == []

    sweep(T0 + 24 * HOUR, django_capture_on_commit_callbacks)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert invitation.sent_at == T0 + 24 * HOUR
    assert invitation.delivered_at is not None
    assert [m.to for m in mail.outbox] == [[ticket.customer.email]]
    token = SURVEY_LINK.search(mail.outbox[0].body).group(1)
    assert token == token_for(invitation.token_nonce)


def test_the_csat_delay_is_configurable(desk, django_capture_on_commit_callbacks):
    SurveySettings.objects.update_or_create(pk=1, defaults={"csat_delay_hours": 2})
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)

    assert csat_of(ticket).send_after == T0 + 2 * HOUR
    sweep(T0 + 2 * HOUR, django_capture_on_commit_callbacks)
    assert csat_of(ticket).status == InvitationStatus.SENT


def test_a_reopen_before_the_survey_is_sent_cancels_it(desk, django_capture_on_commit_callbacks):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    reopen(ticket, T0 + 3 * HOUR, django_capture_on_commit_callbacks)

    invitation = csat_of(ticket)
    assert (invitation.status, invitation.reason) == (
        InvitationStatus.CANCELLED,
        InvitationReason.REOPENED,
    )
    sweep(T0 + 2 * DAY, django_capture_on_commit_callbacks)
    assert csat_of(ticket).status == InvitationStatus.CANCELLED
    assert mail.outbox == []


def test_a_ticket_solved_again_after_a_reopen_is_surveyed_once_from_the_new_solve(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    reopen(ticket, T0 + 3 * HOUR, django_capture_on_commit_callbacks)
    solve(ticket, desk.agent, T0 + 5 * HOUR, django_capture_on_commit_callbacks)

    assert SurveyInvitation.objects.filter(ticket=ticket).count() == 1
    invitation = csat_of(ticket)
    assert invitation.status == InvitationStatus.SCHEDULED
    assert invitation.send_after == T0 + 29 * HOUR

    sweep(T0 + 29 * HOUR, django_capture_on_commit_callbacks)
    sweep(T0 + 30 * HOUR, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_a_reopen_after_the_survey_was_sent_leaves_the_sent_survey(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    reopen(ticket, T0 + 2 * DAY, django_capture_on_commit_callbacks)

    assert csat_of(ticket).status == InvitationStatus.SENT


def test_one_invitation_per_ticket_however_often_the_signal_comes(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    for _ in range(3):
        csat_on_ticket_status(
            sender=Ticket, ticket_id=ticket.pk, old_status="open", new_status="solved", at=T0
        )
        survey_csat_sync(ticket_id=ticket.pk, now=T0 + HOUR)

    assert SurveyInvitation.objects.filter(ticket=ticket).count() == 1
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    sweep(T0 + DAY + HOUR, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_the_database_refuses_a_second_csat_invitation_for_a_ticket(desk):
    first = SurveyInvitationFactory(ticket=desk.ticket())
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyInvitationFactory(ticket=first.ticket)


def test_closing_a_solved_ticket_keeps_its_scheduled_survey(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(ticket=ticket, by_user=desk.agent, status=TicketStatus.CLOSED, now=T0 + HOUR)

    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    assert csat_of(ticket).status == InvitationStatus.SENT


def test_a_merged_duplicate_is_never_surveyed(desk, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    duplicate = desk.ticket(customer=customer)
    kept = desk.ticket(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_merge(source=duplicate, target=kept, by_user=desk.supervisor, now=T0)

    assert csat_of(duplicate) is None
    sweep(T0 + 2 * DAY, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_a_ticket_tagged_spam_is_never_surveyed(desk, django_capture_on_commit_callbacks):
    ticket = desk.ticket(tags=["spam"])
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    assert csat_of(ticket) is None


def test_a_ticket_marked_spam_after_solving_is_not_sent(desk, django_capture_on_commit_callbacks):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(ticket=ticket, by_user=desk.agent, tags=["spam"], now=T0 + HOUR)

    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    invitation = csat_of(ticket)
    assert (invitation.status, invitation.reason) == (
        InvitationStatus.CANCELLED,
        InvitationReason.SPAM,
    )
    assert mail.outbox == []


def test_a_complaint_ticket_gets_the_complaint_survey_not_a_csat(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket(kind=TicketKind.COMPLAINT)
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    assert csat_of(ticket) is None


def test_a_customer_gets_at_most_one_csat_in_7_days(desk, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    first, second, third = (desk.ticket(customer=customer) for _ in range(3))
    solve(first, desk.agent, T0, django_capture_on_commit_callbacks)
    solve(second, desk.agent, T0 + 2 * DAY, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)  # first sent at T0 + 1 day
    sweep(T0 + 3 * DAY, django_capture_on_commit_callbacks)  # second due 2 days later

    assert csat_of(first).status == InvitationStatus.SENT
    assert (csat_of(second).status, csat_of(second).reason) == (
        InvitationStatus.SKIPPED,
        InvitationReason.COOLDOWN,
    )
    # Seven days after the first was sent, the customer may be asked again.
    solve(third, desk.agent, T0 + 7 * DAY, django_capture_on_commit_callbacks)
    sweep(T0 + 8 * DAY - timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert csat_of(third).status == InvitationStatus.SCHEDULED
    sweep(T0 + 8 * DAY, django_capture_on_commit_callbacks)
    assert csat_of(third).status == InvitationStatus.SENT
    assert len(mail.outbox) == 2


def test_the_cooldown_is_configurable(desk, django_capture_on_commit_callbacks):
    SurveySettings.objects.update_or_create(pk=1, defaults={"csat_cooldown_days": 1})
    customer = CustomerFactory()
    first, second = desk.ticket(customer=customer), desk.ticket(customer=customer)
    solve(first, desk.agent, T0, django_capture_on_commit_callbacks)
    solve(second, desk.agent, T0 + 2 * DAY, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    sweep(T0 + 3 * DAY, django_capture_on_commit_callbacks)

    assert csat_of(second).status == InvitationStatus.SENT


def test_a_sent_survey_expires_after_7_days(desk, django_capture_on_commit_callbacks):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    invitation = csat_of(ticket)
    assert invitation.expires_at == T0 + 8 * DAY

    sweep(T0 + 8 * DAY - timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert csat_of(ticket).status == InvitationStatus.SENT
    sweep(T0 + 8 * DAY, django_capture_on_commit_callbacks)
    assert csat_of(ticket).status == InvitationStatus.EXPIRED


def test_the_expiry_is_configurable(desk, django_capture_on_commit_callbacks):
    SurveySettings.objects.update_or_create(pk=1, defaults={"expiry_days": 3})
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    assert csat_of(ticket).expires_at == T0 + 4 * DAY


def test_a_survey_not_sent_within_its_expiry_is_never_sent(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    # No sweep ran for a week and more (workers down): a late survey is not sent at all.
    sweep(T0 + 9 * DAY, django_capture_on_commit_callbacks)
    invitation = csat_of(ticket)
    assert (invitation.status, invitation.reason) == (
        InvitationStatus.EXPIRED,
        InvitationReason.STALE,
    )
    assert mail.outbox == []


def test_a_customer_without_email_or_phone_is_skipped(desk, django_capture_on_commit_callbacks):
    ticket = desk.ticket(customer=CustomerFactory(email="", phone=""))
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    assert (csat_of(ticket).status, csat_of(ticket).reason) == (
        InvitationStatus.SKIPPED,
        InvitationReason.NO_CONTACT,
    )


def test_a_customer_without_email_gets_an_sms_logged_with_a_masked_number_only(
    desk, django_capture_on_commit_callbacks, caplog
):
    ticket = desk.ticket(customer=CustomerFactory(email="", phone="13812345678"))
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    with caplog.at_level(logging.DEBUG):
        sweep(T0 + DAY, django_capture_on_commit_callbacks)

    invitation = csat_of(ticket)
    assert (invitation.status, invitation.sent_via) == (InvitationStatus.SENT, "sms")
    assert invitation.delivered_at is not None
    assert "138****5678" in caplog.text
    assert "13812345678" not in caplog.text
    assert token_for(invitation.token_nonce) not in caplog.text
    assert mail.outbox == []


def test_a_delivered_survey_is_never_delivered_again(desk, django_capture_on_commit_callbacks):
    from surveys.services import survey_invitation_deliver

    ticket = desk.ticket()
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    assert survey_invitation_deliver(invitation_id=csat_of(ticket).pk) is False
    sweep(T0 + DAY + HOUR, django_capture_on_commit_callbacks)  # the catch-up pass too
    assert len(mail.outbox) == 1


def test_the_response_keeps_agent_team_channel_and_kind_as_when_the_ticket_was_solved(
    desk, django_capture_on_commit_callbacks
):
    ticket = desk.ticket(kind=TicketKind.ORDER_ISSUE, channel="app")
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    # After solving, the ticket moves: another team, another agent, another kind.
    other = Desk()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(
            ticket=ticket,
            by_user=desk.supervisor,
            kind=TicketKind.AFTER_SALES,
            now=T0 + 2 * DAY,
        )
        Ticket.objects.filter(pk=ticket.pk).update(team=other.team, assignee=other.agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = survey_answer(invitation=csat_of(ticket), score=4, now=T0 + 3 * DAY)

    assert (response.agent, response.team, response.channel, response.ticket_kind) == (
        desk.agent,
        desk.team,
        "app",
        TicketKind.ORDER_ISSUE,
    )


@pytest.mark.parametrize(
    ("body", "language"),
    [
        ("My parcel has not moved for three days", "en"),
        ("我的快递三天没有更新了", "zh-hans"),
        ("SO-1001 ???", "zh-hans"),  # nothing to tell by: the default language
    ],
)
def test_the_survey_is_in_the_language_the_customer_wrote_in(
    desk, django_capture_on_commit_callbacks, body, language
):
    ticket = desk.ticket(body=body)
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    assert csat_of(ticket).language == language


def test_the_english_email_is_in_english(desk, django_capture_on_commit_callbacks):
    ticket = desk.ticket(body="Where is my parcel please")
    solve(ticket, desk.agent, T0, django_capture_on_commit_callbacks)
    sweep(T0 + DAY, django_capture_on_commit_callbacks)
    assert "How did we do" in mail.outbox[0].subject


def test_tokens_are_256_bit_unguessable_reveal_no_id_and_are_not_stored(desk):
    invitations = [SurveyInvitationFactory(ticket=desk.ticket()) for _ in range(3)]
    tokens = [survey_token(i) for i in invitations]

    assert len(set(tokens)) == 3
    for invitation, token in zip(invitations, tokens, strict=True):
        assert len(token) == 43  # 32 bytes, URL-safe base64
        assert invitation.ticket.number not in token
        stored = SurveyInvitation.objects.filter(pk=invitation.pk).values().get()
        assert token not in [str(v) for v in stored.values()]
