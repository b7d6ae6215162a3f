"""How survey links reach customers: pluggable e-mail and SMS senders.

``SURVEYS_EMAIL_SENDER`` and ``SURVEYS_SMS_SENDER`` name the classes (dotted paths). The e-mail
sender goes through Django's mail backend; the SMS sender shipped here only logs (a masked
number, never the text: the text carries the link, and tokens are never logged) until a gateway
is plugged in by subclassing ``SmsSender``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

from csplatform.privacy import mask_phone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SurveyMessage:
    subject: str
    text: str
    # What a sender that sends from the team's address in the customer's language needs: the
    # ticket the survey is about (none for an order's NPS survey) and the invitation's language.
    ticket_id: int | None = None
    language: str = ""
    # Whose invitation it is (their mail is found by it when their data is erased).
    customer_id: int | None = None


class EmailSender(ABC):
    @abstractmethod
    def send(self, *, to: str, message: SurveyMessage) -> None: ...


class SmsSender(ABC):
    @abstractmethod
    def send(self, *, phone: str, message: SurveyMessage) -> None: ...


class DjangoEmailSender(EmailSender):
    def send(self, *, to: str, message: SurveyMessage) -> None:
        send_mail(message.subject, message.text, settings.DEFAULT_FROM_EMAIL, [to])


class LoggingSmsSender(SmsSender):
    """Stands in for an SMS gateway: records that a message would go out, and to whom (masked)."""

    def send(self, *, phone: str, message: SurveyMessage) -> None:
        logger.info("survey SMS to %s (%d characters)", mask_phone(phone), len(message.text))


def email_sender() -> EmailSender:
    path = getattr(settings, "SURVEYS_EMAIL_SENDER", "surveys.delivery.DjangoEmailSender")
    return import_string(path)()


def sms_sender() -> SmsSender:
    path = getattr(settings, "SURVEYS_SMS_SENDER", "surveys.delivery.LoggingSmsSender")
    return import_string(path)()
