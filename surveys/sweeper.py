"""The periodic scan of survey rows: send due invitations, expire old ones, catch up.

The same machinery as the SLA sweeper: due times live on the rows, each sweep reads the due
ones in batches locked with ``SKIP LOCKED`` (several sweepers share the work), and state on
the row makes every step happen once: a sent invitation is no longer ``scheduled``, a
delivered one has ``delivered_at``, a followed-up response has its ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from csplatform.enqueue import task_named
from csplatform.locks import retry_on_deadlock

from .choices import InvitationStatus
from .models import SurveyInvitation, SurveyResponse, SurveySettings
from .services import survey_invitation_send

# Work queued after commit that has not happened this long after is queued again (a worker
# was lost between the commit and the task).
CATCH_UP_AFTER = timedelta(minutes=10)


@dataclass
class SurveySweepResult:
    sent: int = 0
    not_sent: int = 0
    expired: int = 0
    redelivered: int = 0
    follow_ups: int = 0


def surveys_sweep(*, now: datetime | None = None, batch_size: int = 200) -> SurveySweepResult:
    now = now or timezone.now()
    result = SurveySweepResult()
    config = SurveySettings.load()
    while True:
        sent, not_sent = _send_batch(now, config, batch_size)
        result.sent += sent
        result.not_sent += not_sent
        if sent + not_sent < batch_size:
            break
    while True:
        expired = _expire_batch(now, batch_size)
        result.expired += expired
        if expired < batch_size:
            break
    result.redelivered, result.follow_ups = _catch_up(now, batch_size)
    return result


@retry_on_deadlock
@transaction.atomic
def _send_batch(now: datetime, config: SurveySettings, batch_size: int) -> tuple[int, int]:
    invitations = list(
        SurveyInvitation.objects.due_to_send(now)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("customer", "ticket")
        .order_by("send_after", "id")[:batch_size]
    )
    # Customers' cooldown rows are locked in one order by every sweeper: no deadlock.
    invitations.sort(key=lambda i: (i.customer_id, i.kind, i.send_after, i.pk))
    sent = 0
    for invitation in invitations:
        sent += survey_invitation_send(invitation=invitation, config=config, now=now)
    return sent, len(invitations) - sent


@retry_on_deadlock
@transaction.atomic
def _expire_batch(now: datetime, batch_size: int) -> int:
    ids = list(
        SurveyInvitation.objects.expired_by(now)
        .select_for_update(skip_locked=True)
        .order_by("expires_at", "id")
        .values_list("id", flat=True)[:batch_size]
    )
    return SurveyInvitation.objects.filter(pk__in=ids, status=InvitationStatus.SENT).update(
        status=InvitationStatus.EXPIRED, reason="", closed_at=now
    )


def _catch_up(now: datetime, batch_size: int) -> tuple[int, int]:
    before = now - CATCH_UP_AFTER
    undelivered = list(
        SurveyInvitation.objects.sent_not_delivered_before(before)
        .order_by("sent_at")
        .values_list("id", flat=True)[:batch_size]
    )
    survey_invitation_deliver_task = task_named("surveys.tasks.survey_invitation_deliver_task")
    for invitation_id in undelivered:
        survey_invitation_deliver_task.delay(invitation_id)
    missing = list(
        SurveyResponse.objects.follow_up_missing_before(before)
        .order_by("answered_at")
        .values_list("id", flat=True)[:batch_size]
    )
    survey_follow_up_open_task = task_named("surveys.tasks.survey_follow_up_open_task")
    for response_id in missing:
        survey_follow_up_open_task.delay(response_id)
    return len(undelivered), len(missing)
