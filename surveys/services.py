"""Every write of the surveys app: scheduling invitations, sending them, answers, follow-ups.

Invitations are rows with a ``send_after`` time; the periodic sweep (``sweeper.py``) sends the
due ones. Scheduling reads the subject's current state rather than trusting the signal that
triggered it, so a late or repeated signal cannot schedule a survey the ticket no longer
deserves, and each subject has at most one invitation (unique constraints).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.enqueue import enqueue_on_commit
from csplatform.errors import ConflictError, DomainError, Gone, InvalidInput
from csplatform.locks import retry_on_deadlock
from orders.choices import OrderStatus
from orders.models import Customer, Order
from tickets.access import may_move_ticket
from tickets.choices import AuthorKind, TicketEventType, TicketKind, TicketStatus
from tickets.events import ticket_event_record
from tickets.models import Ticket
from tickets.services import ticket_create, ticket_system_assign

from .choices import (
    FOLLOW_UP_AT_MOST,
    SCALES,
    DeliveryChannel,
    InvitationReason,
    InvitationStatus,
    SurveyKind,
    SurveyLanguage,
)
from .delivery import SurveyMessage, email_sender, sms_sender
from .languages import language_for_customer
from .models import SurveyCooldown, SurveyInvitation, SurveyResponse, SurveySettings
from .signals import survey_invitation_recorded
from .tokens import nonce_new, token_for, token_hash

if TYPE_CHECKING:
    from tickets.models import Team, Ticket

logger = logging.getLogger(__name__)

COMMENT_MAX_LENGTH = 2000
SOLVED_STATUSES = (TicketStatus.SOLVED, TicketStatus.CLOSED)


class SurveyAlreadyAnswered(ConflictError):
    code = "already_answered"


class SurveyExpired(Gone):
    code = "expired"


# --- Scheduling -------------------------------------------------------------------------------


def _attribution(ticket: Ticket) -> dict[str, Any]:
    """Who and what the survey is about, frozen as the ticket is now (when it was solved)."""
    return {
        "agent_id": ticket.assignee_id or ticket.owner_id,
        "team_id": ticket.team_id,
        "channel": ticket.channel,
        "ticket_kind": ticket.kind,
    }


def _csat_excluded(ticket: Ticket, config: SurveySettings) -> str | None:
    """Why this ticket gets no CSAT survey at all, or ``None``."""
    if ticket.merged_into_id is not None:
        return InvitationReason.MERGED
    if config.spam_tag and ticket.tags.filter(name=config.spam_tag.strip().lower()).exists():
        return InvitationReason.SPAM
    return None


def _csat_not_applicable(ticket: Ticket) -> bool:
    # A complaint's ticket gets the complaint-satisfaction survey when the complaint closes;
    # a follow-up (回访) ticket is our own call to an unhappy customer, not a service to rate.
    return (
        ticket.kind == TicketKind.COMPLAINT
        or SurveyResponse.objects.filter(follow_up_ticket_id=ticket.pk).exists()
    )


def _invitation_create(**fields: Any) -> SurveyInvitation | None:
    """Insert an invitation, or ``None`` when its subject has one already (a repeated signal)."""
    nonce = nonce_new()
    hashed = token_hash(token_for(nonce))
    assert hashed is not None  # a token just made always has its hash
    try:
        with transaction.atomic():
            return SurveyInvitation.objects.create(token_nonce=nonce, token_hash=hashed, **fields)
    except IntegrityError:
        return None


def _cancel(invitation: SurveyInvitation, reason: str, now: datetime) -> None:
    invitation.status = InvitationStatus.CANCELLED
    invitation.reason = reason
    invitation.closed_at = now
    invitation.save(update_fields=["status", "reason", "closed_at"])


@retry_on_deadlock
@transaction.atomic
def survey_csat_sync(*, ticket_id: int, now: datetime | None = None) -> SurveyInvitation | None:
    """Bring the ticket's CSAT invitation in line with the ticket as it is now.

    Solved (or solved then closed): one invitation, sent ``csat_delay_hours`` after the solve.
    Reopened before it was sent: cancelled; solved again: the same invitation is scheduled
    from the new solve time. Merged or spam: none. Idempotent, whatever order signals come in.
    """
    now = now or timezone.now()
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None or _csat_not_applicable(ticket):
        return None
    config = SurveySettings.load()
    invitation = (
        SurveyInvitation.objects.select_for_update()
        .filter(kind=SurveyKind.CSAT, ticket_id=ticket.pk)
        .first()
    )
    solved_at = ticket.solved_at if ticket.status in SOLVED_STATUSES else None
    excluded = _csat_excluded(ticket, config) if solved_at is not None else None
    if solved_at is None or excluded:
        if invitation is not None and invitation.status == InvitationStatus.SCHEDULED:
            _cancel(invitation, excluded or InvitationReason.REOPENED, now)
        return invitation

    send_after = solved_at + timedelta(hours=config.csat_delay_hours)
    if invitation is None:
        return _invitation_create(
            kind=SurveyKind.CSAT,
            customer_id=ticket.customer_id,
            ticket=ticket,
            order_id=ticket.order_id,
            language=language_for_customer(ticket.customer_id, default=config.default_language),
            created_at=now,
            trigger_at=solved_at,
            send_after=send_after,
            **_attribution(ticket),
        )
    reopened = (
        invitation.status == InvitationStatus.CANCELLED
        and invitation.reason == InvitationReason.REOPENED
    )
    if reopened or (
        invitation.status == InvitationStatus.SCHEDULED and invitation.trigger_at != solved_at
    ):
        # Solved again: the survey is about the latest resolution, by whoever solved it.
        for field, value in _attribution(ticket).items():
            setattr(invitation, field, value)
        invitation.status = InvitationStatus.SCHEDULED
        invitation.reason = ""
        invitation.closed_at = None
        invitation.trigger_at = solved_at
        invitation.send_after = send_after
        invitation.save()
    return invitation


@transaction.atomic
def survey_nps_schedule(
    *, order_id: int, completed_at: datetime, now: datetime | None = None
) -> SurveyInvitation | None:
    """An NPS invitation for a completed order (the per-customer limit is checked on sending)."""
    now = now or timezone.now()
    order = Order.objects.filter(pk=order_id, status=OrderStatus.COMPLETED).first()
    if order is None:
        return None
    config = SurveySettings.load()
    return _invitation_create(
        kind=SurveyKind.NPS,
        customer_id=order.customer_id,
        order=order,
        channel=order.channel,
        language=language_for_customer(order.customer_id, default=config.default_language),
        created_at=now,
        trigger_at=completed_at,
        send_after=completed_at + timedelta(hours=config.nps_delay_hours),
    )


def _complaint_model() -> Any:
    # The complaints app may not be installed: load its model lazily, by name (and so untyped:
    # this app reads its neighbour's rows without importing it).
    try:
        return apps.get_model("complaints", "Complaint")
    except LookupError:
        return None


@transaction.atomic
def survey_complaint_schedule(
    *, complaint_id: int, closed_at: datetime, now: datetime | None = None
) -> SurveyInvitation | None:
    """A complaint-satisfaction invitation for a closed complaint, attributed like a CSAT."""
    complaint_model = _complaint_model()
    if complaint_model is None:
        return None
    now = now or timezone.now()
    complaint = complaint_model.objects.select_related("ticket").filter(pk=complaint_id).first()
    if complaint is None:
        return None
    config = SurveySettings.load()
    ticket = complaint.ticket
    attribution = _attribution(ticket) if ticket is not None else {}
    return _invitation_create(
        kind=SurveyKind.COMPLAINT,
        customer_id=complaint.customer_id,
        complaint_id=complaint.pk,
        complaint_number=str(getattr(complaint, "number", "") or "")[:40],
        ticket=ticket,
        order_id=getattr(complaint, "order_id", None),
        language=language_for_customer(complaint.customer_id, default=config.default_language),
        created_at=now,
        trigger_at=closed_at,
        send_after=closed_at + timedelta(hours=config.complaint_delay_hours),
        **attribution,
    )


# --- Sending ----------------------------------------------------------------------------------

COOLDOWN_DAYS_FIELD: dict[str, str] = {
    SurveyKind.CSAT: "csat_cooldown_days",
    SurveyKind.NPS: "nps_cooldown_days",
}


def _in_cooldown(invitation: SurveyInvitation, config: SurveySettings, now: datetime) -> bool:
    """Whether the customer was sent a survey of this kind too recently; if not, record this
    send. The customer's cooldown row is locked until the sending transaction commits."""
    field = COOLDOWN_DAYS_FIELD.get(invitation.kind)
    if field is None:
        return False
    cooldown, _created = SurveyCooldown.objects.select_for_update().get_or_create(
        customer_id=invitation.customer_id, kind=invitation.kind
    )
    days = getattr(config, field)
    if cooldown.last_sent_at and days and cooldown.last_sent_at > now - timedelta(days=days):
        return True
    cooldown.last_sent_at = now
    cooldown.save(update_fields=["last_sent_at"])
    return False


def _why_not_send(
    invitation: SurveyInvitation, config: SurveySettings, now: datetime
) -> tuple[str, str] | None:
    """``(status, reason)`` that replaces sending, or ``None`` to send."""
    if now >= invitation.send_after + timedelta(days=config.expiry_days):
        return InvitationStatus.EXPIRED, InvitationReason.STALE
    if invitation.kind == SurveyKind.CSAT:
        ticket = invitation.ticket
        assert ticket is not None  # a CSAT survey is about a ticket
        if ticket.status not in SOLVED_STATUSES:
            return InvitationStatus.CANCELLED, InvitationReason.REOPENED
        excluded = _csat_excluded(ticket, config)
        if excluded:
            return InvitationStatus.CANCELLED, excluded
    customer = invitation.customer
    if not customer.email and not customer.phone:
        return InvitationStatus.SKIPPED, InvitationReason.NO_CONTACT
    if _in_cooldown(invitation, config, now):
        return InvitationStatus.SKIPPED, InvitationReason.COOLDOWN
    return None


def survey_invitation_send(
    *, invitation: SurveyInvitation, config: SurveySettings, now: datetime
) -> bool:
    """Send a due invitation the caller holds locked: mark it sent, deliver after commit.

    Returns whether it was sent (rather than cancelled, skipped or expired unsent).
    """
    instead = _why_not_send(invitation, config, now)
    if instead is not None:
        invitation.status, invitation.reason = instead
        invitation.closed_at = now
        invitation.save(update_fields=["status", "reason", "closed_at"])
        return False
    invitation.status = InvitationStatus.SENT
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=config.expiry_days)
    invitation.sent_via = (
        DeliveryChannel.EMAIL if invitation.customer.email else DeliveryChannel.SMS
    )
    invitation.save(update_fields=["status", "sent_at", "expires_at", "sent_via"])
    survey_invitation_recorded.send(
        sender=SurveyInvitation,
        invitation=invitation,
        token=token_for(invitation.token_nonce),
        url=survey_url(invitation),
    )
    enqueue_on_commit("surveys.tasks.survey_invitation_deliver_task", invitation.pk)
    return True


def survey_url(invitation: SurveyInvitation) -> str:
    base = getattr(settings, "SURVEYS_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("survey", kwargs={"token": token_for(invitation.token_nonce)})


def _message(invitation: SurveyInvitation) -> SurveyMessage:
    with translation.override(invitation.language):
        url = survey_url(invitation)
        if invitation.kind == SurveyKind.NPS:
            assert invitation.order is not None  # an NPS survey is about an order
            subject = _("Would you recommend us? One tap to tell us")
            about = _("your order %(number)s") % {"number": invitation.order.number}
        elif invitation.kind == SurveyKind.COMPLAINT:
            subject = _("How did we handle your complaint?")
            about = _("your complaint %(number)s") % {
                "number": invitation.complaint_number or invitation.ticket
            }
        else:
            assert invitation.ticket is not None  # a CSAT survey is about a ticket
            subject = _("How did we do? One tap to rate our service")
            about = _("your request %(number)s") % {"number": invitation.ticket.number}
        assert invitation.expires_at is not None  # sent, so both are set
        assert invitation.sent_at is not None
        text = _(
            "Thank you for shopping with us. Please tell us how we did with %(about)s: "
            "%(url)s (the link is valid for %(days)s days)."
        ) % {"about": about, "url": url, "days": (invitation.expires_at - invitation.sent_at).days}
    return SurveyMessage(
        subject=subject,
        text=text,
        ticket_id=invitation.ticket_id,
        language=invitation.language,
        customer_id=invitation.customer_id,
    )


def survey_invitation_deliver(*, invitation_id: int, now: datetime | None = None) -> bool:
    """Hand a sent invitation to its sender, once: ``delivered_at`` is set in the same
    transaction that holds the row, and a delivered invitation is never handed over again."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "ticket", "order")
            .filter(pk=invitation_id, status=InvitationStatus.SENT, delivered_at__isnull=True)
            .first()
        )
        if invitation is None:
            return False
        message = _message(invitation)
        if invitation.sent_via == DeliveryChannel.EMAIL:
            email_sender().send(to=invitation.customer.email, message=message)
        else:
            sms_sender().send(phone=invitation.customer.phone, message=message)
        invitation.delivered_at = now
        invitation.save(update_fields=["delivered_at"])
    return True


# --- Answering --------------------------------------------------------------------------------


def score_range_message(kind: str) -> str:
    low, high = SCALES[kind]
    return _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}


@retry_on_deadlock
@transaction.atomic
def survey_answer(
    *,
    invitation: SurveyInvitation,
    score: int,
    comment: str = "",
    language: str | None = None,
    now: datetime | None = None,
) -> SurveyResponse:
    """Record the customer's answer once; a low score gets a follow-up ticket after commit."""
    now = now or timezone.now()
    invitation = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status == InvitationStatus.ANSWERED:
        raise SurveyAlreadyAnswered(_("This survey has already been answered."))
    if invitation.status == InvitationStatus.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at <= now
    ):
        raise SurveyExpired(_("This survey has expired."))
    if invitation.status != InvitationStatus.SENT:
        raise DomainError(_("This survey is not open."), code="not_open")
    low, high = SCALES[invitation.kind]
    if isinstance(score, bool) or not isinstance(score, int) or not low <= score <= high:
        message = score_range_message(invitation.kind)
        raise InvalidInput(message, errors={"score": [message]})
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        message = _("Keep the comment under %(n)s characters.") % {"n": COMMENT_MAX_LENGTH}
        raise InvalidInput(message, errors={"comment": [message]})
    if language not in SurveyLanguage.values:
        language = invitation.language
    response = SurveyResponse.objects.create(
        invitation=invitation,
        kind=invitation.kind,
        score=score,
        comment=comment,
        language=language,
        answered_at=now,
        customer_id=invitation.customer_id,
        ticket_id=invitation.ticket_id,
        order_id=invitation.order_id,
        complaint_id=invitation.complaint_id,
        agent_id=invitation.agent_id,
        team_id=invitation.team_id,
        channel=invitation.channel,
        ticket_kind=invitation.ticket_kind,
        needs_follow_up=score <= FOLLOW_UP_AT_MOST[invitation.kind],
    )
    invitation.status = InvitationStatus.ANSWERED
    invitation.answered_at = now
    invitation.save(update_fields=["status", "answered_at"])
    if response.needs_follow_up:
        enqueue_on_commit("surveys.tasks.survey_follow_up_open_task", response.pk)
    return response


# --- Follow-up (回访) -------------------------------------------------------------------------


def _follow_up_text(response: SurveyResponse) -> tuple[str, str]:
    low, high = SCALES[response.kind]
    original = response.ticket
    names: dict[str, str] = {
        SurveyKind.CSAT: _("CSAT"),
        SurveyKind.NPS: _("NPS"),
        SurveyKind.COMPLAINT: _("complaint satisfaction"),
    }
    survey = names[response.kind]
    if response.kind == SurveyKind.COMPLAINT and response.invitation.complaint_number:
        about = _("complaint %(number)s") % {"number": response.invitation.complaint_number}
    elif original is not None:
        about = str(original.number)
    else:
        assert response.order is not None  # a survey about no ticket is about an order
        about = _("order %(number)s") % {"number": response.order.number}
    subject = _("Follow-up (回访): %(survey)s %(score)s of %(high)s on %(about)s") % {
        "survey": survey,
        "score": response.score,
        "high": high,
        "about": about,
    }
    lines = [
        _(
            "The customer answered the %(survey)s survey on %(about)s with %(score)s (scale "
            "%(low)s–%(high)s). Please call them back (回访)."
        )
        % {"survey": survey, "about": about, "score": response.score, "low": low, "high": high},
        "",
        _("Comment: %(comment)s") % {"comment": response.comment}
        if response.comment
        else _("No comment given."),
    ]
    if original is not None:
        path = reverse("desk:ticket-detail", kwargs={"number": original.number})
        lines += [
            "",
            _("Original ticket: %(number)s %(path)s") % {"number": original.number, "path": path},
        ]
    if response.order is not None:
        lines += [_("Order: %(number)s") % {"number": response.order.number}]
    return subject, "\n".join(lines)


def _follow_up_assign(ticket: Ticket, team: Team | None, actor: Actor, now: datetime) -> Ticket:
    """Give the follow-up to the supervisor of the team the survey is attributed to, in that
    team (assigned when they are a member of it, else left in its queue, which they see).

    Taking the ticket out of the team routing chose is for a supervisor who may move it from
    there: when the attributed team's supervisor may not, the supervisor of the routed team
    gets it instead. The system hands it over; the supervisor only receives it.
    """
    for candidate in (team, ticket.team):
        if candidate is None or candidate.supervisor is None:
            continue
        supervisor = candidate.supervisor
        if candidate.pk != ticket.team_id and not may_move_ticket(supervisor, ticket):
            continue
        is_member = candidate.members.filter(pk=supervisor.pk).exists()
        try:
            return ticket_system_assign(
                ticket=ticket,
                actor=actor,
                team=candidate,
                assignee=supervisor if is_member else ...,
                now=now,
            )
        except DomainError:
            continue
    logger.warning("survey follow-up %s has no supervisor to go to", ticket.number)
    return ticket


@retry_on_deadlock
def survey_follow_up_open(*, response_id: int, now: datetime | None = None) -> Ticket | None:
    """Open the follow-up (回访) ticket of a low score, once, for the team's supervisor.

    The ticket is linked from the original ticket and goes to the supervisor of the team the
    survey is attributed to (see ``_follow_up_assign``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        response = (
            SurveyResponse.objects.select_for_update(of=("self",))
            .select_related("invitation", "ticket", "order", "team__supervisor")
            .filter(pk=response_id, needs_follow_up=True, follow_up_ticket__isnull=True)
            .first()
        )
        if response is None:
            return None
        original = response.ticket
        with translation.override(settings.LANGUAGE_CODE):
            subject, body = _follow_up_text(response)
        actor = Actor.system("surveys")
        about = original if original is not None else response.order
        assert about is not None  # a survey is about a ticket or an order
        ticket = ticket_create(
            customer=Customer.objects.get(pk=response.customer_id),
            kind=original.kind if original is not None else TicketKind.AFTER_SALES,
            channel=about.channel,
            subject=subject,
            body=body,
            actor=actor,
            order=response.order if response.order_id else None,
            author_kind=AuthorKind.SYSTEM,
            linked_from=original,
            now=now,
        )
        ticket = _follow_up_assign(ticket, response.team, actor, now)
        if original is not None:
            ticket_event_record(
                ticket=original,
                type=TicketEventType.FOLLOW_UP,
                new=ticket.number,
                payload={"survey": response.kind, "score": response.score},
                actor=actor,
                now=now,
            )
        response.follow_up_ticket = ticket
        response.save(update_fields=["follow_up_ticket"])
    return ticket
