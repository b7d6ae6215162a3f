"""Survey invitations as queued e-mails: the surveys app's e-mail sender (its setting
``SURVEYS_EMAIL_SENDER`` names this class), so that invitations leave through the retrying
e-mail sender, from the ticket's team address, and keep their delivery state.

Surveys and messaging are neighbours that do not import each other: this class has the shape
of ``surveys.delivery.EmailSender`` (``send(*, to, message)``, the message carrying
``subject``, ``text``, ``ticket_id`` and ``language``) without naming it.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings

from csplatform.languages import ZH_HANS
from tickets.models import Ticket

from .email_out import email_queue
from .models import EmailMessage, Mailbox


class SurveyMessageLike(Protocol):
    subject: str
    text: str
    ticket_id: int | None
    language: str
    customer_id: int | None


class QueuedSurveyEmailSender:
    def send(self, *, to: str, message: SurveyMessageLike) -> None:
        """Queue the invitation in the caller's transaction (the one that marks it delivered):
        both commit, or neither."""
        ticket = None
        mailbox = None
        if message.ticket_id is not None:
            ticket = Ticket.objects.select_related("team").filter(pk=message.ticket_id).first()
        if ticket is not None and ticket.team_id is not None:
            mailbox = Mailbox.objects.filter(team_id=ticket.team_id).first()
        language = message.language if message.language in dict(settings.LANGUAGES) else ZH_HANS
        email_queue(
            mailbox=mailbox,
            to=to,
            subject=message.subject,
            body_text=message.text,
            kind=EmailMessage.Kind.SURVEY,
            customer_id=message.customer_id,
            language=language,
            ticket=ticket,
        )
