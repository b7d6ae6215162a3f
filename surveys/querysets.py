from __future__ import annotations

from datetime import datetime

from django.db import models

from .choices import InvitationStatus


class SurveyInvitationQuerySet(models.QuerySet):
    def due_to_send(self, now: datetime) -> SurveyInvitationQuerySet:
        return self.filter(status=InvitationStatus.SCHEDULED, send_after__lte=now)

    def expired_by(self, now: datetime) -> SurveyInvitationQuerySet:
        return self.filter(status=InvitationStatus.SENT, expires_at__lte=now)

    def sent_not_delivered_before(self, t: datetime) -> SurveyInvitationQuerySet:
        return self.filter(status=InvitationStatus.SENT, delivered_at__isnull=True, sent_at__lte=t)


class SurveyResponseQuerySet(models.QuerySet):
    def follow_up_missing_before(self, t: datetime) -> SurveyResponseQuerySet:
        return self.filter(needs_follow_up=True, follow_up_ticket__isnull=True, answered_at__lte=t)

    def with_related(self) -> SurveyResponseQuerySet:
        return self.select_related(
            "invitation", "customer", "ticket", "order", "agent", "team", "follow_up_ticket"
        )
