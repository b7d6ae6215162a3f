"""Every write to complaints: filing and grading, the lifecycle, escalation by hand, remedy,
the customer's confirmation and the periodic close of unconfirmed outcomes.

A complaint is handled on its own ticket (kind ``complaint``), opened through
``tickets.services.ticket_create``; the ticket's SLA policy runs the complaint timers (first
response 15 min, ``acceptance`` 24 h, ``plan`` 48 h) and stops the last two when the milestone
is recorded here. Lock order: complaint → ticket → order (refunds lock order → return request).

The escalation levels, who hears about each and the escalation a breached timer makes are in
``escalation``; the refund remedy, filed with the refunds app, in ``refund_remedy``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.errors import ConflictError, DomainError, InvalidInput
from orders.locks import customer_lock
from orders.models import Customer, Order
from tickets.choices import SlaMetric, TicketKind, TicketStatus
from tickets.languages import language_for_customer
from tickets.models import Ticket
from tickets.services import (
    ticket_create,
    ticket_milestone_record,
    ticket_reply,
    ticket_system_change,
    ticket_system_reply,
)

from . import rules as severity_rules
from .choices import (
    REMEDIES_WITH_AMOUNT,
    SEVERITY_PRIORITY,
    ClosedAs,
    ComplaintCategory,
    ComplaintEventType,
    ComplaintStatus,
    Confirmation,
    EscalationLevel,
    RemedyType,
    ResponsibleParty,
    Severity,
)
from .escalation import complaint_level_raise
from .events import complaint_event_record, complaint_moves_announce
from .models import Complaint, SeverityRules
from .refund_remedy import complaint_refund_open
from .signals import complaint_closed
from .transitions import LIFECYCLE, check_transition, complaint_apply_transition

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from csplatform.lifecycle import Transition

CENT = Decimal("0.01")
S = ComplaintStatus


def _lock(complaint: Complaint) -> Complaint:
    return LIFECYCLE.lock(pk=complaint.pk)


def _save(complaint: Complaint, now: datetime) -> None:
    complaint.updated_at = now
    complaint.save()


def _required(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(message, errors={field: [message]})
    return value


# --- Filing -----------------------------------------------------------------------------------


@transaction.atomic
def complaint_create(
    *,
    customer: Customer,
    category: str,
    channel: str,
    description: str,
    actor: Actor,
    order: Order | None = None,
    ticket: Ticket | None = None,
    now: datetime | None = None,
) -> Complaint:
    """File a complaint: link it to the earlier ones it repeats, grade it, open its ticket.

    ``ticket``: an open ticket of the customer where the complaint was raised (an agent
    starts it from the desk); it becomes the complaint's ticket, of kind ``complaint``, so
    the complaint timers run on it. A closed ticket gets a new complaint ticket linked to it.
    """
    now = now or timezone.now()
    if ticket is not None:
        if ticket.customer_id != customer.pk:
            raise InvalidInput(_("The ticket belongs to another customer."))
        if Complaint.objects.filter(ticket=ticket).exists():
            raise ConflictError(
                _("This ticket already carries a complaint."), code="complaint_exists"
            )
    description = _required(description, "description", _("Describe the complaint."))
    if category not in ComplaintCategory.values:
        raise InvalidInput(_("Unknown category."), errors={"category": [_("Unknown category.")]})
    if order is not None and order.customer_id != customer.pk:
        raise InvalidInput(
            _("The order belongs to another customer."),
            errors={"order_number": [_("No order with this number for this customer.")]},
        )
    # One customer's complaints are counted under their row lock: two filed at once both see
    # each other, so the third is always graded critical.
    customer = customer_lock(customer_id=customer.pk)
    rules = SeverityRules.load()
    repeats = list(
        severity_rules.earlier_repeats(
            customer=customer, order=order, category=category, rules=rules, now=now
        )
    )
    earlier = (
        Complaint.objects.of_customer_since(customer.pk, severity_rules.window_start(rules, now))
        .filter(created_at__lte=now)
        .count()
    )
    grading = severity_rules.grade(
        rules=rules,
        category=category,
        description=description,
        customer_tier=customer.tier,
        amount=order.total if order is not None else None,
        earlier_in_window=earlier,
        is_repeat=bool(repeats),
    )
    complaint = Complaint.objects.create(
        customer=customer,
        order=order,
        category=category,
        channel=channel,
        description=description,
        severity=grading.severity,
        severity_reasons=grading.reasons,
        is_repeat=bool(repeats),
        created_at=now,
        updated_at=now,
    )
    complaint.number = f"C-{complaint.pk:06d}"
    if repeats:
        complaint.repeat_of.set(repeats)
    complaint_event_record(
        complaint=complaint,
        type=ComplaintEventType.RECEIVED,
        actor=actor,
        now=now,
        field="status",
        new=S.RECEIVED,
        severity=grading.severity,
        severity_reasons=grading.reasons,
        repeat_of=[c.number for c in repeats],
    )
    if ticket is not None and ticket.status != TicketStatus.CLOSED:
        complaint.ticket = ticket_system_change(
            ticket=ticket,
            actor=actor,
            kind=TicketKind.COMPLAINT,
            priority_at_least=SEVERITY_PRIORITY[grading.severity],
            note=_("Complaint %(number)s filed from this ticket.") % {"number": complaint.number},
            now=now,
        )
    else:
        complaint.ticket = ticket_create(
            customer=customer,
            order=order,
            kind=TicketKind.COMPLAINT,
            channel=channel,
            subject=_("Complaint %(number)s: %(category)s")
            % {"number": complaint.number, "category": complaint.get_category_display()},
            body=description,
            priority=SEVERITY_PRIORITY[grading.severity],
            actor=actor,
            linked_from=ticket,
            now=now,
        )
    complaint.save(update_fields=["number", "ticket"])
    return complaint


# --- Classification and grading ---------------------------------------------------------------


def _set_field(
    complaint: Complaint, field: str, value: object, actor: Actor, now: datetime, reason: str = ""
) -> bool:
    old = getattr(complaint, field)
    if old == value:
        return False
    setattr(complaint, field, value)
    complaint_event_record(
        complaint=complaint,
        type=field,
        actor=actor,
        now=now,
        field=field,
        old=old,
        new=value,
        reason=reason,
    )
    return True


@transaction.atomic
def complaint_classify(
    *, complaint: Complaint, category: str, actor: Actor, now: datetime | None = None
) -> Complaint:
    now = now or timezone.now()
    if category not in ComplaintCategory.values:
        raise InvalidInput(_("Unknown category."), errors={"category": [_("Unknown category.")]})
    complaint = _lock(complaint)
    if _set_field(complaint, "category", category, actor, now):
        _save(complaint, now)
    return complaint


@transaction.atomic
def complaint_grade(
    *,
    complaint: Complaint,
    severity: str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Complaint:
    """An agent sets the severity; the ticket's priority rises with it (never falls)."""
    now = now or timezone.now()
    if severity not in Severity.values:
        raise InvalidInput(_("Unknown severity."), errors={"severity": [_("Unknown severity.")]})
    complaint = _lock(complaint)
    if _set_field(complaint, "severity", severity, actor, now, reason=reason):
        _save(complaint, now)
        if complaint.ticket is not None:
            ticket_system_change(
                ticket=complaint.ticket,
                actor=actor,
                priority_at_least=SEVERITY_PRIORITY[severity],
                now=now,
            )
    return complaint


# --- Lifecycle --------------------------------------------------------------------------------


def _ticket_status(
    complaint: Complaint, status: str, note: str, actor: Actor, now: datetime
) -> None:
    """Move the complaint's ticket to ``status`` with an internal note naming the complaint."""
    if complaint.ticket is not None:
        ticket_system_change(
            ticket=complaint.ticket,
            actor=actor,
            status=status,
            note=note % {"number": complaint.number},
            now=now,
        )


def _milestone(complaint: Complaint, milestone: str, actor: Actor, now: datetime) -> None:
    if complaint.ticket is not None:
        ticket_milestone_record(ticket=complaint.ticket, milestone=milestone, actor=actor, now=now)


@transaction.atomic
def complaint_accept(
    *, complaint: Complaint, actor: Actor, now: datetime | None = None
) -> Complaint:
    """受理: the complaint is taken on; the ticket's 24-hour acceptance timer stops."""
    now = now or timezone.now()
    complaint = _lock(complaint)
    move = complaint_apply_transition(complaint=complaint, target=S.ACCEPTED, actor=actor, now=now)
    complaint.accepted_at = now
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[move])
    _milestone(complaint, SlaMetric.ACCEPTANCE, actor, now)
    return complaint


@transaction.atomic
def complaint_investigate(
    *, complaint: Complaint, actor: Actor, now: datetime | None = None
) -> Complaint:
    now = now or timezone.now()
    complaint = _lock(complaint)
    move = complaint_apply_transition(
        complaint=complaint, target=S.INVESTIGATING, actor=actor, now=now
    )
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[move])
    return complaint


@transaction.atomic
def complaint_note_add(
    *, complaint: Complaint, note: str, actor: Actor, now: datetime | None = None
) -> Complaint:
    """Add to the internal investigation notes (never shown to the customer)."""
    now = now or timezone.now()
    note = _required(note, "note", _("Write the note."))
    complaint = _lock(complaint)
    if not complaint.is_open:
        raise ConflictError(_("The complaint is closed."), code="complaint_closed")
    stamp = f"[{timezone.localtime(now):%Y-%m-%d %H:%M} {actor.label}]"
    complaint.investigation_notes = f"{complaint.investigation_notes}\n{stamp} {note}".strip()
    complaint_event_record(
        complaint=complaint,
        type=ComplaintEventType.NOTE,
        actor=actor,
        now=now,
        field="investigation_notes",
        reason=note,
    )
    _save(complaint, now)
    return complaint


@transaction.atomic
def complaint_findings_set(
    *,
    complaint: Complaint,
    actor: Actor,
    root_cause: str | None = None,
    responsible_party: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    now = now or timezone.now()
    if responsible_party is not None and responsible_party not in ResponsibleParty.values:
        raise InvalidInput(
            _("Unknown responsible party."),
            errors={"responsible_party": [_("Unknown responsible party.")]},
        )
    complaint = _lock(complaint)
    changed = False
    if root_cause is not None:
        changed |= _set_field(complaint, "root_cause", root_cause.strip()[:500], actor, now)
    if responsible_party is not None:
        changed |= _set_field(complaint, "responsible_party", responsible_party, actor, now)
    if changed:
        _save(complaint, now)
    return complaint


@transaction.atomic
def complaint_propose_plan(
    *, complaint: Complaint, plan: str, actor: Actor, now: datetime | None = None
) -> Complaint:
    """The handling plan is given to the customer: posted to the complaint ticket's
    conversation as a public reply (by the agent who proposed it), so that it reaches the
    customer through the ticket's channel; the ticket's 48-hour plan timer stops."""
    now = now or timezone.now()
    plan = _required(plan, "plan", _("Write the handling plan."))
    complaint = _lock(complaint)
    move = complaint_apply_transition(
        complaint=complaint, target=S.PLAN_PROPOSED, actor=actor, now=now, payload={"plan": plan}
    )
    complaint.plan = plan[:5000]
    complaint.plan_proposed_at = now
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[move])
    _milestone(complaint, SlaMetric.PLAN, actor, now)
    _plan_post(complaint, actor, now)
    return complaint


def _plan_post(complaint: Complaint, actor: Actor, now: datetime) -> None:
    """The plan as a public message of the complaint's ticket, in the customer's language."""
    ticket = complaint.ticket
    if ticket is None or ticket.status == TicketStatus.CLOSED:
        return  # no conversation left to post to; the plan is on the complaint
    with translation.override(language_for_customer(complaint.customer_id)):
        body = _("Our handling plan for your complaint %(number)s:") % {"number": complaint.number}
    body = f"{body}\n\n{complaint.plan}"
    if actor.kind == "user" and actor.user is not None:
        ticket_reply(ticket=ticket, user=actor.user, body=body, now=now)
    else:
        ticket_system_reply(ticket=ticket, body=body, actor=actor, now=now)


@transaction.atomic
def complaint_remedy_record(
    *,
    complaint: Complaint,
    remedy_type: str,
    actor: Actor,
    amount: Decimal | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Complaint:
    """Record the remedy of the plan. A refund goes through the refunds app: a refund-only
    request on the complaint's order (on the complaint's ticket), approved and paid by its
    own rules (at once within the automatic limit, else by the desk)."""
    now = now or timezone.now()
    if remedy_type not in RemedyType.values:
        raise InvalidInput(_("Unknown remedy."), errors={"remedy_type": [_("Unknown remedy.")]})
    if remedy_type in REMEDIES_WITH_AMOUNT:
        if amount is None or Decimal(amount) <= 0:
            raise InvalidInput(
                _("This remedy needs an amount above zero."),
                errors={"remedy_amount": [_("Must be above zero.")]},
            )
        amount = Decimal(amount).quantize(CENT)
    else:
        amount = None
    complaint = _lock(complaint)
    if complaint.status not in (S.INVESTIGATING, S.PLAN_PROPOSED):
        raise ConflictError(
            _("The remedy is recorded while investigating or with the plan."),
            code="invalid_state",
            current_status=complaint.status,
        )
    if complaint.remedy_return_id is not None:
        raise ConflictError(
            _("A refund was already started for this complaint."), code="remedy_refunded"
        )
    old = complaint.remedy_type
    complaint.remedy_type, complaint.remedy_amount = remedy_type, amount
    complaint.remedy_note = note.strip()[:500]
    payload: dict[str, Any] = {"amount": str(amount) if amount is not None else None}
    if remedy_type == RemedyType.REFUND:
        if complaint.order_id is None:
            raise InvalidInput(
                _("A refund needs the complaint's order."),
                errors={"remedy_type": [_("The complaint has no order.")]},
            )
        assert amount is not None  # a refund remedy has an amount (checked above)
        outcome = complaint_refund_open(complaint=complaint, amount=amount, actor=actor, now=now)
        complaint.remedy_return = outcome.record
        payload["return"] = outcome.reference
    complaint_event_record(
        complaint=complaint,
        type=ComplaintEventType.REMEDY,
        actor=actor,
        now=now,
        field="remedy_type",
        old=old,
        new=remedy_type,
        reason=complaint.remedy_note,
        **payload,
    )
    _save(complaint, now)
    return complaint


@transaction.atomic
def complaint_request_confirmation(
    *, complaint: Complaint, actor: Actor, now: datetime | None = None
) -> Complaint:
    """Ask the customer to confirm the outcome; unanswered, it closes as "resolved,
    unconfirmed" after the confirmation window (72 h)."""
    now = now or timezone.now()
    complaint = _lock(complaint)
    check_transition(complaint.status, S.AWAITING_CONFIRMATION)
    if not complaint.remedy_type:
        raise DomainError(
            _("Record the remedy before asking the customer to confirm."), code="no_remedy"
        )
    move = complaint_apply_transition(
        complaint=complaint, target=S.AWAITING_CONFIRMATION, actor=actor, now=now
    )
    complaint.confirmation = ""
    complaint.confirmation_requested_at = now
    complaint.confirmation_due_at = now + timedelta(hours=SeverityRules.load().confirmation_hours)
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[move])
    # The customer's turn: the ticket waits in pending, where its closure timer pauses.
    _ticket_status(
        complaint,
        TicketStatus.PENDING,
        _("Complaint %(number)s: waiting for the customer to confirm the outcome."),
        actor,
        now,
    )
    return complaint


def _close(
    complaint: Complaint, *, closed_as: str, actor: Actor, now: datetime, reason: str = ""
) -> None:
    """awaiting_confirmation → resolved → closed; the ticket is solved; ``complaint_closed``
    is sent after commit (the satisfaction survey listens)."""
    resolved = complaint_apply_transition(
        complaint=complaint, target=S.RESOLVED, actor=actor, now=now, reason=reason
    )
    complaint.resolved_at = now
    closed = complaint_apply_transition(
        complaint=complaint,
        target=S.CLOSED,
        actor=actor,
        now=now,
        reason=reason,
        payload={"closed_as": closed_as},
    )
    complaint.closed_as, complaint.closed_at = closed_as, now
    complaint.confirmation_due_at = None
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[resolved, closed])
    if complaint.ticket is not None:
        ticket_system_change(
            ticket=complaint.ticket,
            actor=actor,
            status=TicketStatus.SOLVED,
            note=_("Complaint %(number)s closed: %(outcome)s")
            % {"number": complaint.number, "outcome": complaint.get_closed_as_display()},
            now=now,
        )
    complaint_id = complaint.pk
    transaction.on_commit(
        lambda: complaint_closed.send(sender=Complaint, complaint_id=complaint_id, at=now)
    )


@transaction.atomic
def complaint_confirm(
    *,
    complaint: Complaint,
    accepted: bool,
    actor: Actor,
    comment: str = "",
    now: datetime | None = None,
) -> Complaint:
    """The customer's answer. Accepted: the complaint is resolved and closes. Rejected: it
    goes back to investigating one escalation level higher; a closed complaint rejected
    within the reopen window reopens (and escalates) the same way."""
    now = now or timezone.now()
    complaint = _lock(complaint)
    comment = comment.strip()[:1000]
    if complaint.status == S.CLOSED and not accepted:
        move = _reopen(complaint, actor=actor, now=now, reason=comment)
        complaint_level_raise(
            complaint, reason=_("The customer rejected the outcome."), actor=actor, now=now
        )
        _save(complaint, now)
        complaint_moves_announce(complaint=complaint, moves=[move])
        return complaint
    if complaint.status != S.AWAITING_CONFIRMATION:
        raise ConflictError(
            _("The complaint is not waiting for the customer's confirmation."),
            code="not_awaiting_confirmation",
            current_status=complaint.status,
        )
    complaint.confirmation_comment = comment
    complaint.confirmed_at = now
    complaint_event_record(
        complaint=complaint,
        type=ComplaintEventType.CONFIRMATION,
        actor=actor,
        now=now,
        field="confirmation",
        old=complaint.confirmation,
        new=Confirmation.ACCEPTED if accepted else Confirmation.REJECTED,
        reason=comment,
    )
    if accepted:
        complaint.confirmation = Confirmation.ACCEPTED
        _close(complaint, closed_as=ClosedAs.CONFIRMED, actor=actor, now=now, reason=comment)
        return complaint
    complaint.confirmation = Confirmation.REJECTED
    complaint.rejections += 1
    move = complaint_apply_transition(
        complaint=complaint, target=S.INVESTIGATING, actor=actor, now=now, reason=comment
    )
    complaint.confirmation_due_at = None
    complaint_level_raise(
        complaint, reason=_("The customer rejected the outcome."), actor=actor, now=now
    )
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[move])
    # Our turn again: the ticket leaves pending and its closure timer runs on.
    _ticket_status(
        complaint,
        TicketStatus.OPEN,
        _("Complaint %(number)s: the customer rejected the outcome."),
        actor,
        now,
    )
    return complaint


@transaction.atomic
def complaint_close_confirmed_elsewhere(
    *, complaint: Complaint, by_user: User, note: str, now: datetime | None = None
) -> Complaint:
    """An agent records the customer's acceptance given on another channel (a call, a chat);
    the note says where, and the event names the agent."""
    now = now or timezone.now()
    note = _required(note, "note", _("Say how the customer confirmed."))
    complaint = _lock(complaint)
    check_transition(complaint.status, S.RESOLVED)
    actor = Actor.for_user(by_user)
    complaint.confirmation = Confirmation.ACCEPTED
    complaint.confirmation_comment = note[:1000]
    complaint.confirmed_at = now
    complaint_event_record(
        complaint=complaint,
        type=ComplaintEventType.CONFIRMATION,
        actor=actor,
        now=now,
        field="confirmation",
        new=Confirmation.ACCEPTED,
        reason=note,
        recorded_by_agent=True,
    )
    _close(complaint, closed_as=ClosedAs.CONFIRMED, actor=actor, now=now, reason=note)
    return complaint


def complaints_close_unconfirmed(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Close the complaints whose confirmation window passed as "resolved, unconfirmed".
    Safe to run again and concurrently: each is re-checked under its row lock."""
    now = now or timezone.now()
    ids = list(
        Complaint.objects.confirmation_overdue(now)
        .order_by("confirmation_due_at", "id")
        .values_list("id", flat=True)[:batch_size]
    )
    closed = 0
    for complaint_id in ids:
        with transaction.atomic():
            complaint = (
                Complaint.objects.select_for_update(skip_locked=True)
                .filter(pk=complaint_id)
                .confirmation_overdue(now)
                .first()
            )
            if complaint is None:
                continue
            _close(
                complaint,
                closed_as=ClosedAs.UNCONFIRMED,
                actor=Actor.system("complaint confirmation window"),
                now=now,
                reason=_("Not confirmed within the confirmation window."),
            )
            closed += 1
    return closed


def _reopen(complaint: Complaint, *, actor: Actor, now: datetime, reason: str) -> Transition:
    """Reopen the locked complaint; the caller saves it and announces the move."""
    check_transition(complaint.status, S.INVESTIGATING)
    days = SeverityRules.load().reopen_days
    if complaint.closed_at is None or now > complaint.closed_at + timedelta(days=days):
        raise DomainError(
            _("A complaint reopens within %(days)d days of closing.") % {"days": days},
            code="reopen_window_closed",
        )
    move = complaint_apply_transition(
        complaint=complaint,
        target=S.INVESTIGATING,
        actor=actor,
        now=now,
        reason=reason,
        event_type=ComplaintEventType.REOPENED,
    )
    complaint.reopen_count += 1
    complaint.closed_as, complaint.closed_at, complaint.resolved_at = "", None, None
    complaint.confirmation, complaint.confirmation_due_at = "", None
    _ticket_status(complaint, TicketStatus.OPEN, _("Complaint %(number)s reopened."), actor, now)
    return move


@transaction.atomic
def complaint_reopen(
    *, complaint: Complaint, actor: Actor, reason: str, now: datetime | None = None
) -> Complaint:
    now = now or timezone.now()
    reason = _required(reason, "reason", _("Say why the complaint reopens."))
    complaint = _lock(complaint)
    move = _reopen(complaint, actor=actor, now=now, reason=reason)
    _save(complaint, now)
    complaint_moves_announce(complaint=complaint, moves=[move])
    return complaint


@transaction.atomic
def complaint_escalate(
    *,
    complaint: Complaint,
    reason: str,
    actor: Actor,
    level: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Escalate by hand, with a reason: one level up, or to a higher ``level``."""
    now = now or timezone.now()
    reason = _required(reason, "reason", _("Say why the complaint is escalated."))
    complaint = _lock(complaint)
    if not complaint.is_open:
        raise ConflictError(_("The complaint is closed."), code="complaint_closed")
    target = complaint.escalation_level + 1 if level is None else level
    if target not in EscalationLevel.values or target <= complaint.escalation_level:
        raise ConflictError(
            _("The complaint is at level %(level)d; it can only be escalated higher.")
            % {"level": complaint.escalation_level},
            code="invalid_escalation",
            current_level=complaint.escalation_level,
        )
    complaint_level_raise(complaint, reason=reason, actor=actor, now=now, level=target)
    _save(complaint, now)
    return complaint


# --- The desk's and the API's combined change ------------------------------------------------


@transaction.atomic
def complaint_update(
    *,
    complaint: Complaint,
    by_user: User,
    category: str | None = None,
    severity: str | None = None,
    escalation_level: int | None = None,
    escalation_reason: str = "",
    note: str = "",
    root_cause: str | None = None,
    responsible_party: str | None = None,
    plan: str | None = None,
    remedy_type: str | None = None,
    remedy_amount: Decimal | None = None,
    remedy_note: str = "",
    status: str | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Apply several changes at once, all or nothing (``PATCH /api/v1/complaints/{n}/``).

    ``status`` moves along the lifecycle through its service: ``accepted``,
    ``investigating`` (from ``accepted``, or a reopen of a closed complaint), ``plan_proposed``
    (with ``plan``), ``awaiting_confirmation``, and ``resolved``/``closed`` (the customer
    confirmed elsewhere: ``note`` says how). Any other move is a 409.
    """
    now = now or timezone.now()
    actor = Actor.for_user(by_user)
    if category is not None:
        complaint = complaint_classify(complaint=complaint, category=category, actor=actor, now=now)
    if severity is not None:
        complaint = complaint_grade(complaint=complaint, severity=severity, actor=actor, now=now)
    if escalation_level is not None and escalation_level != complaint.escalation_level:
        complaint = complaint_escalate(
            complaint=complaint,
            reason=escalation_reason,
            level=escalation_level,
            actor=actor,
            now=now,
        )
    # With a close or a reopen the note is its reason, not an investigation note.
    note_is_reason = status in (S.RESOLVED, S.CLOSED) or (
        status == S.INVESTIGATING and complaint.status == S.CLOSED
    )
    if note and not note_is_reason:
        complaint = complaint_note_add(complaint=complaint, note=note, actor=actor, now=now)
    if root_cause is not None or responsible_party is not None:
        complaint = complaint_findings_set(
            complaint=complaint,
            root_cause=root_cause,
            responsible_party=responsible_party,
            actor=actor,
            now=now,
        )
    if remedy_type is not None:
        complaint = complaint_remedy_record(
            complaint=complaint,
            remedy_type=remedy_type,
            amount=remedy_amount,
            note=remedy_note,
            actor=actor,
            now=now,
        )
    if status is not None and status != complaint.status:
        complaint = _status_change(complaint, status, by_user, actor, plan, note, now)
    return complaint


def _status_change(
    complaint: Complaint,
    status: str,
    by_user: User,
    actor: Actor,
    plan: str | None,
    note: str,
    now: datetime,
) -> Complaint:
    if status == S.ACCEPTED:
        return complaint_accept(complaint=complaint, actor=actor, now=now)
    if status == S.INVESTIGATING and complaint.status == S.CLOSED:
        return complaint_reopen(complaint=complaint, actor=actor, reason=note, now=now)
    if status == S.INVESTIGATING:
        return complaint_investigate(complaint=complaint, actor=actor, now=now)
    if status == S.PLAN_PROPOSED:
        return complaint_propose_plan(complaint=complaint, plan=plan or "", actor=actor, now=now)
    if status == S.AWAITING_CONFIRMATION:
        return complaint_request_confirmation(complaint=complaint, actor=actor, now=now)
    if status in (S.RESOLVED, S.CLOSED):
        return complaint_close_confirmed_elsewhere(
            complaint=complaint, by_user=by_user, note=note, now=now
        )
    check_transition(complaint.status, status)  # raises: no other move exists
    return complaint
