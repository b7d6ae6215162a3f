"""Survey invitations leave through the same e-mail sender as replies (the surveys app's
``SURVEYS_EMAIL_SENDER`` is messaging's queued sender): from the ticket's team address, in the
invitation's language, retried, with a delivery state."""

import re

import pytest

from messaging.email_sender import emails_send_due
from messaging.models import EmailMessage
from surveys.choices import DeliveryChannel
from surveys.services import survey_invitation_deliver
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    SurveyInvitationFactory,
    TeamFactory,
    TicketFactory,
    mailbox_of,
)
from tickets.choices import TicketStatus

SURVEY_LINK = re.compile(r"/s/[A-Za-z0-9_-]{43}\b")


@pytest.mark.django_db(transaction=True)
def test_a_survey_invitation_is_queued_and_sent_from_the_ticket_team_address(smtp):
    team = TeamFactory()
    mailbox_of(team, address="care@shop.example", display_name="售后服务")
    ticket = TicketFactory(
        team=team, status=TicketStatus.SOLVED, customer=CustomerFactory(email="li.lei@example.com")
    )
    invitation = SurveyInvitationFactory(
        ticket=ticket, sent_via=DeliveryChannel.EMAIL, language="en"
    )

    assert survey_invitation_deliver(invitation_id=invitation.pk)

    email = EmailMessage.objects.get()
    assert email.kind == EmailMessage.Kind.SURVEY
    assert email.status == EmailMessage.Status.SENT  # woken at the commit, sent
    assert email.ticket == ticket
    assert email.header_id.endswith(f".{ticket.number}@shop.example")
    [received] = smtp.received
    mail = received.message
    assert received.rcpt_tos == ["li.lei@example.com"]
    assert mail["From"].addresses[0].addr_spec == "care@shop.example"
    assert mail["From"].addresses[0].display_name == "售后服务"
    assert "How did we do" in str(mail["Subject"])
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert SURVEY_LINK.search(text)
    assert SURVEY_LINK.search(html)
    assert f"Ticket {ticket.number}." in text  # the English template
    assert "Auto-Submitted" not in mail


@pytest.mark.django_db
def test_an_order_survey_without_a_team_mailbox_leaves_from_the_default_address(smtp, settings):
    settings.DEFAULT_FROM_EMAIL = "service@shop.example"
    customer = CustomerFactory(email="li.lei@example.com")
    invitation = SurveyInvitationFactory(
        kind="nps",
        ticket=None,
        customer=customer,
        order=OrderFactory(customer=customer, status="completed"),
        sent_via=DeliveryChannel.EMAIL,
    )

    survey_invitation_deliver(invitation_id=invitation.pk)
    emails_send_due()

    email = EmailMessage.objects.get()
    assert email.mailbox is None
    assert email.status == EmailMessage.Status.SENT
    assert email.header_id.endswith(".survey@shop.example")
    [received] = smtp.received
    assert received.message["From"] == "service@shop.example"
    assert received.message["Reply-To"] == "service@shop.example"
    assert "推荐" in str(received.message["Subject"])  # the invitation's language: Chinese


@pytest.mark.django_db
def test_a_refused_survey_invitation_is_retried_like_any_email(smtp):
    smtp.handler.refuse_rcpt = "421 4.7.0 Try again later"
    team = TeamFactory()
    mailbox_of(team)
    invitation = SurveyInvitationFactory(
        ticket=TicketFactory(team=team, status=TicketStatus.SOLVED),
        sent_via=DeliveryChannel.EMAIL,
    )

    survey_invitation_deliver(invitation_id=invitation.pk)
    emails_send_due()

    email = EmailMessage.objects.get()
    assert email.status == EmailMessage.Status.QUEUED
    assert email.attempts == 1
    assert email.last_error == "SMTP 421: 4.7.0 Try again later"
    assert email.next_attempt_at is not None
