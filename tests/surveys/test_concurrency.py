"""Races on PostgreSQL: real threads, each with its own connection.

Two submits of the same survey at once record one answer (and one follow-up); sweepers
running at once send each survey once and respect the per-customer cooldown between them.
"""

from __future__ import annotations

import pytest
from django.core import mail
from rest_framework.test import APIClient

from surveys.choices import InvitationReason, InvitationStatus
from surveys.models import SurveyInvitation, SurveyResponse
from surveys.sweeper import surveys_sweep
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, SurveyInvitationFactory, survey_token
from tests.surveys.helpers import DAY, T0, Desk
from tickets.choices import TicketStatus

pytestmark = [
    pytest.mark.postgres(reason="races between threads on row locks; SQLite serialises writers"),
    pytest.mark.django_db(transaction=True),
]


def test_eight_simultaneous_answers_record_one_and_open_one_follow_up():
    desk = Desk()
    invitation = SurveyInvitationFactory(ticket=desk.ticket())
    path = f"/api/v1/surveys/{survey_token(invitation)}/"

    codes = run_at_once(
        8, lambda i: APIClient().post(path, {"score": 1}, format="json").status_code
    )

    assert sorted(codes) == [201] + [409] * 7
    response = SurveyResponse.objects.get()
    assert response.follow_up_ticket is not None
    assert SurveyResponse.objects.filter(follow_up_ticket__isnull=False).count() == 1


def test_simultaneous_sweeps_send_each_survey_once_and_keep_the_cooldown():
    desk = Desk()
    customers = [CustomerFactory() for _ in range(5)]
    for customer in customers:
        # Two solved tickets per customer, both due: only one survey may go out.
        for _ in range(2):
            SurveyInvitationFactory(
                ticket=desk.ticket(customer=customer, status=TicketStatus.SOLVED),
                status=InvitationStatus.SCHEDULED,
                created_at=T0,
                send_after=T0 + DAY,
            )

    run_at_once(4, lambda i: surveys_sweep(now=T0 + DAY, batch_size=3))

    assert SurveyInvitation.objects.filter(status=InvitationStatus.SCHEDULED).count() == 0
    for customer in customers:
        statuses = sorted(
            SurveyInvitation.objects.filter(customer=customer).values_list("status", "reason")
        )
        assert statuses == [
            (InvitationStatus.SENT, ""),
            (InvitationStatus.SKIPPED, InvitationReason.COOLDOWN),
        ]
    assert len(mail.outbox) == 5
