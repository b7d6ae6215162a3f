"""Every write to return requests and refunds.

Locks are always taken in one order: order → return request → refund (then the ticket; the
whole order is in ``csplatform.locks``), with ``FOR NO KEY UPDATE``: the rows other
transactions insert under the order (a ticket, a survey) do not wait for our commit. The
order's ``refunded_amount`` counts every refund that has not failed (a pending payout reserves
its amount), and a database constraint keeps it at or below what was paid.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.actors import Actor
from csplatform.enqueue import enqueue_on_commit
from csplatform.errors import ConflictError, InvalidInput, NotPermitted
from csplatform.locks import retry_on_deadlock
from csplatform.roles import ADMIN, SUPERVISOR, role_of
from csplatform.uploads import MAX_PER_RETURN_REQUEST, uploads_check
from orders.locks import order_lock
from orders.models import Order
from orders.services import order_lines_returned_add, order_refund_reserve
from tickets.choices import SlaMetric, TicketKind
from tickets.services import ticket_create, ticket_milestone_record, ticket_system_change

from . import rules as return_rules
from .checks import return_lines_check, return_request_check
from .choices import (
    EVIDENCE_OPEN_STATUSES,
    GOODS_BACK,
    RefundStatus,
    ReturnEventType,
    ReturnStatus,
    ReturnType,
)
from .events import return_event_record, return_moves_announce
from .models import Refund, RefundRules, ReturnEvidence, ReturnLine, ReturnRequest
from .rules import CENT
from .transitions import LIFECYCLE, check_transition, return_apply_transition
from .working_days import refund_working_days_calendar

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from csplatform.lifecycle import Transition
    from tickets.models import Ticket


class NeedsSupervisor(NotPermitted):
    """The amount is above the limit an agent may approve or refund on their own."""

    code = "needs_supervisor"


def _is_supervisor(user: User) -> bool:
    return role_of(user) in (SUPERVISOR, ADMIN)


def _lock_order(order_id: int) -> Order:
    return order_lock(order_id=order_id)


def _lock_request(request: ReturnRequest) -> tuple[Order, ReturnRequest]:
    order = _lock_order(request.order_id)
    return order, LIFECYCLE.lock(pk=request.pk)


# --- Requests ---------------------------------------------------------------------------------


@retry_on_deadlock
@transaction.atomic
def return_request_create(
    *,
    order: Order,
    type: str,
    reason: str,
    lines: list[tuple[str, int]],
    description: str = "",
    amount: Decimal | None = None,
    actor: Actor,
    ticket: Ticket | None = None,
    now: datetime | None = None,
) -> ReturnRequest:
    """File a request after checking every rule; open its ticket; approve small ones at once.

    With ``ticket`` (the desk starts a return from a ticket on the order), the request is
    handled on that ticket instead of a new one.
    """
    now = now or timezone.now()
    return_lines_check(lines)
    order = _lock_order(order.pk)
    if ticket is not None:
        if ticket.order_id != order.pk:
            raise InvalidInput(_("The ticket is about another order."), code="ticket_order")
        if ReturnRequest.objects.filter(ticket=ticket).exists():
            raise ConflictError(_("This ticket already has a return."), code="ticket_has_return")
    checked = return_request_check(
        order=order, type=type, reason=reason, lines=lines, amount=amount, now=now
    )
    requested, amount, rules = checked.lines, checked.amount, checked.rules

    request = ReturnRequest.objects.create(
        order=order,
        type=type,
        reason=reason,
        description=description,
        requested_amount=amount,
        respond_due_at=now + timedelta(hours=rules.response_timeout_hours),
        created_at=now,
        updated_at=now,
    )
    ReturnLine.objects.bulk_create(
        ReturnLine(request=request, order_line=line.order_line, quantity=line.quantity)
        for line in requested
    )
    return_event_record(
        request=request, type=ReturnEventType.REQUESTED, actor=actor, now=now, amount=str(amount)
    )
    request.ticket = ticket or ticket_create(
        customer=order.customer,
        order=order,
        kind=TicketKind.RETURN_REFUND,
        channel=order.channel,
        subject=_("%(type)s request %(id)s on order %(number)s")
        % {"type": request.get_type_display(), "id": request.public_id, "number": order.number},
        body=description or request.get_reason_display(),
        actor=actor,
        now=now,
    )
    request.save(update_fields=["ticket"])
    if reason in (rules.auto_approve_reasons or []) and amount <= rules.auto_approve_limit:
        moves = return_request_approve_locked(
            order=order,
            request=request,
            actor=Actor.system("auto-approval"),
            now=now,
            reason=_("Within the automatic approval limit."),
        )
        return_moves_announce(request=request, moves=moves)
    return request


def _ticket_milestones(
    request: ReturnRequest, milestones: tuple[str, ...], actor: Actor, now: datetime
) -> None:
    """The decision is the case's acceptance (受理), an approval also its handling plan: the
    ticket's timers of those names stop. Locked after the order and the request."""
    ticket = request.ticket
    if ticket is None:
        return
    for milestone in milestones:
        ticket_milestone_record(ticket=ticket, milestone=milestone, actor=actor, now=now)


def return_request_approve_locked(
    *, order: Order, request: ReturnRequest, actor: Actor, now: datetime, reason: str = ""
) -> list[Transition]:
    """Approve without the approver checks: for the system (automatic approval, the response
    timeout) and for a user already cleared to. The caller holds the order's and the
    request's locks; a refund-only request is refunded at once. Returns the moves made, for
    the caller to announce once it wrote the request for the last time."""
    moves = [
        return_apply_transition(
            request=request, target=ReturnStatus.APPROVED, actor=actor, now=now, reason=reason
        )
    ]
    request.decided_by = actor.user if actor.kind == "user" else None
    request.decided_at = now
    request.decision_reason = reason
    request.respond_due_at = None
    if request.type in GOODS_BACK:
        moves.append(
            return_apply_transition(
                request=request, target=ReturnStatus.AWAITING_RETURN, actor=actor, now=now
            )
        )
        request.return_due_at = now + timedelta(days=RefundRules.load().return_shipping_days)
    request.save()
    _ticket_milestones(request, (SlaMetric.ACCEPTANCE, SlaMetric.PLAN), actor, now)
    if request.type == ReturnType.REFUND_ONLY:
        moves += _refund(order, request, amount=request.requested_amount, actor=actor, now=now)[1]
    return moves


@retry_on_deadlock
def return_request_approve(
    *, request: ReturnRequest, by_user: User, reason: str = "", now: datetime | None = None
) -> ReturnRequest:
    """Approve; above the supervisor limit only a supervisor who did not propose it may.

    An agent's approval of a larger amount is kept as a proposal (the supervisor queue shows
    it) and refused with ``NeedsSupervisor``.
    """
    now = now or timezone.now()
    rules = RefundRules.load()
    refusal = None
    with transaction.atomic():
        order, request = _lock_request(request)
        # A request that cannot be approved any more is a conflict, not a proposal.
        check_transition(request.status, ReturnStatus.APPROVED)
        if request.requested_amount > rules.supervisor_limit and not _is_supervisor(by_user):
            if request.proposed_by_id is None:
                request.proposed_by = by_user
                request.save(update_fields=["proposed_by"])
                return_event_record(
                    request=request,
                    type=ReturnEventType.PROPOSED,
                    actor=Actor.for_user(by_user),
                    now=now,
                    reason=reason,
                )
            refusal = NeedsSupervisor(
                _("Amounts above %(limit)s need a supervisor's approval.")
                % {"limit": rules.supervisor_limit},
                limit=str(rules.supervisor_limit),
            )
        elif request.requested_amount > rules.supervisor_limit and (
            request.proposed_by_id == by_user.pk
        ):
            refusal = NeedsSupervisor(
                _("The approval must come from someone other than who proposed it."),
                code="four_eyes",
            )
        else:
            moves = return_request_approve_locked(
                order=order, request=request, actor=Actor.for_user(by_user), now=now, reason=reason
            )
            return_moves_announce(request=request, moves=moves)
    if refusal is not None:
        raise refusal  # after the proposal was committed
    return request


@retry_on_deadlock
@transaction.atomic
def return_request_reject(
    *, request: ReturnRequest, by_user: User, reason: str, now: datetime | None = None
) -> ReturnRequest:
    now = now or timezone.now()
    if not reason.strip():
        raise InvalidInput(
            _("Say why the request is rejected."),
            errors={"reason": [_("A reason is required.")]},
        )
    _order, request = _lock_request(request)
    move = return_apply_transition(
        request=request,
        target=ReturnStatus.REJECTED,
        actor=Actor.for_user(by_user),
        now=now,
        reason=reason,
    )
    request.decided_by, request.decided_at, request.decision_reason = by_user, now, reason
    request.respond_due_at = None
    request.save()
    return_moves_announce(request=request, moves=[move])
    _ticket_milestones(request, (SlaMetric.ACCEPTANCE,), Actor.for_user(by_user), now)
    return request


@retry_on_deadlock
@transaction.atomic
def return_request_appeal(
    *, request: ReturnRequest, description: str, actor: Actor, now: datetime | None = None
) -> ReturnRequest:
    """The customer appeals a rejection within the appeal window, with something new."""
    now = now or timezone.now()
    if not description.strip():
        raise InvalidInput(
            _("An appeal needs new evidence or an explanation."),
            errors={"description": [_("Required.")]},
        )
    order, request = _lock_request(request)
    check_transition(request.status, ReturnStatus.REQUESTED)
    rules = RefundRules.load()
    if request.decided_at and now > request.decided_at + timedelta(days=rules.appeal_days):
        raise return_rules.ReturnRefused(
            _("Appeals are accepted within %(days)d days of the rejection.")
            % {"days": rules.appeal_days},
            code="appeal_window_closed",
            appeal_until=(request.decided_at + timedelta(days=rules.appeal_days)).isoformat(),
        )
    # Other requests may have claimed the units or the money since the rejection.
    return_rules.check_quantities(
        order=order,
        lines=[
            return_rules.RequestedLine(order_line=line.order_line, quantity=line.quantity)
            for line in request.lines.select_related("order_line")
        ],
        exclude_request_id=request.pk,
    )
    if request.type != ReturnType.EXCHANGE:
        return_rules.check_amount(order=order, amount=request.requested_amount)
    move = return_apply_transition(
        request=request,
        target=ReturnStatus.REQUESTED,
        actor=actor,
        now=now,
        reason=description,
        event_type=ReturnEventType.APPEALED,
    )
    request.appeals += 1
    request.description = f"{request.description}\n\n{description}".strip()[:5000]
    request.respond_due_at = now + timedelta(hours=rules.response_timeout_hours)
    # A new round: the decision, the proposal and a returned-and-refused parcel (it went back
    # to the customer) belong to the last one and stay in the timeline.
    request.decided_by, request.decided_at, request.decision_reason = None, None, ""
    request.proposed_by = None
    request.return_carrier = request.return_tracking_number = ""
    request.return_shipped_at = request.received_at = request.inspected_at = None
    request.inspection_passed, request.inspection_notes = None, ""
    request.save()
    return_moves_announce(request=request, moves=[move])
    return request


@retry_on_deadlock
@transaction.atomic
def return_request_cancel(
    *, request: ReturnRequest, actor: Actor, now: datetime | None = None
) -> ReturnRequest:
    """The customer withdraws the request, while the goods have not started moving back."""
    now = now or timezone.now()
    _order, request = _lock_request(request)
    if request.status == ReturnStatus.AWAITING_RETURN and request.return_shipped_at:
        raise ConflictError(_("The goods are already on their way back."), code="goods_in_transit")
    if request.refunds.exists():
        raise ConflictError(_("A refund has already been made."), code="already_refunded")
    move = return_apply_transition(
        request=request, target=ReturnStatus.CANCELLED, actor=actor, now=now
    )
    request.respond_due_at = request.return_due_at = None
    request.save()
    return_moves_announce(request=request, moves=[move])
    return request


@retry_on_deadlock
@transaction.atomic
def return_request_ship_back(
    *,
    request: ReturnRequest,
    carrier: str,
    tracking_number: str,
    actor: Actor,
    now: datetime | None = None,
) -> ReturnRequest:
    now = now or timezone.now()
    _order, request = _lock_request(request)
    if request.status != ReturnStatus.AWAITING_RETURN:
        raise ConflictError(
            _("The request is not waiting for goods to be sent back."),
            code="invalid_state",
            current_status=request.status,
        )
    request.return_carrier, request.return_tracking_number = carrier, tracking_number
    request.return_shipped_at = now
    request.updated_at = now
    request.save()
    return_event_record(
        request=request,
        type=ReturnEventType.SHIPPED_BACK,
        actor=actor,
        now=now,
        carrier=carrier,
        tracking_number=tracking_number,
    )
    return request


@retry_on_deadlock
@transaction.atomic
def return_request_receive(
    *, request: ReturnRequest, by_user: User, now: datetime | None = None
) -> ReturnRequest:
    """The goods are back: the refund is due within the working days of the rules."""
    now = now or timezone.now()
    _order, request = _lock_request(request)
    move = return_apply_transition(
        request=request, target=ReturnStatus.RECEIVED, actor=Actor.for_user(by_user), now=now
    )
    request.received_at = now
    rules = RefundRules.load()
    request.refund_due_at = refund_working_days_calendar(rules).add(
        now, timedelta(days=rules.refund_working_days)
    )
    request.return_due_at = None
    request.save()
    _returned_add(request, +1)
    return_moves_announce(request=request, moves=[move])
    return request


def _returned_add(request: ReturnRequest, sign: int) -> None:
    """Count the request's units in (or, when they go back to the customer, out of) the
    lines' ``quantity_returned``; the database keeps it between 0 and what was bought."""
    order_lines_returned_add(
        quantities=[(line.order_line_id, sign * line.quantity) for line in request.lines.all()]
    )


@retry_on_deadlock
@transaction.atomic
def return_request_inspect(
    *,
    request: ReturnRequest,
    by_user: User,
    passed: bool,
    notes: str = "",
    now: datetime | None = None,
) -> ReturnRequest:
    now = now or timezone.now()
    _order, request = _lock_request(request)
    actor = Actor.for_user(by_user)
    moves = [
        return_apply_transition(
            request=request, target=ReturnStatus.INSPECTED, actor=actor, now=now, reason=notes
        )
    ]
    request.inspected_at, request.inspection_passed = now, passed
    request.inspection_notes = notes[:500]
    if not passed:
        moves.append(
            return_apply_transition(
                request=request,
                target=ReturnStatus.REJECTED,
                actor=actor,
                now=now,
                reason=notes or _("The goods did not pass inspection."),
            )
        )
        request.decided_by, request.decided_at = by_user, now
        request.decision_reason = notes or _("The goods did not pass inspection.")
        request.refund_due_at = None
        # The goods go back to the customer: their units are no longer returned, so an
        # appeal can claim them again.
        _returned_add(request, -1)
    request.save()
    return_moves_announce(request=request, moves=moves)
    return request


@retry_on_deadlock
@transaction.atomic
def return_request_exchange(
    *, request: ReturnRequest, by_user: User, now: datetime | None = None
) -> ReturnRequest:
    now = now or timezone.now()
    _order, request = _lock_request(request)
    if request.type != ReturnType.EXCHANGE:
        raise ConflictError(_("Only an exchange request can be exchanged."), code="not_exchange")
    move = return_apply_transition(
        request=request, target=ReturnStatus.EXCHANGED, actor=Actor.for_user(by_user), now=now
    )
    request.refund_due_at = None
    request.save()
    return_moves_announce(request=request, moves=[move])
    return request


# --- Refunds ----------------------------------------------------------------------------------


def _refund(
    order: Order, request: ReturnRequest | None, *, amount: Decimal, actor: Actor, now: datetime
) -> tuple[Refund, list[Transition]]:
    """Reserve the amount on the locked order and queue the payout after commit. Returns the
    refund and the request's move to ``refunded`` (none when it was refunded already), for the
    caller to announce after its last write of the request."""
    amount = Decimal(amount).quantize(CENT)
    if amount <= 0:
        raise InvalidInput(
            _("The amount must be above zero."),
            errors={"amount": [_("Must be above zero.")]},
        )
    return_rules.check_amount(order=order, amount=amount)
    refund = Refund.objects.create(
        request=request,
        order=order,
        amount=amount,
        currency=order.currency,
        created_by=actor.user if actor.kind == "user" else None,
        created_at=now,
    )
    # The database refuses a sum above what was paid, whatever the Python check said.
    order_refund_reserve(order=order, amount=amount)
    moves: list[Transition] = []
    if request is not None:
        # A new refund settles the failed payouts that were waiting for a supervisor.
        request.refunds.filter(status=RefundStatus.FAILED, needs_attention=True).update(
            needs_attention=False
        )
        if request.status != ReturnStatus.REFUNDED:
            moves.append(
                return_apply_transition(
                    request=request,
                    target=ReturnStatus.REFUNDED,
                    actor=actor,
                    now=now,
                    payload={"refund": refund.pk, "amount": str(amount)},
                )
            )
        else:
            return_event_record(
                request=request,
                type=ReturnEventType.REFUND_ADDED,
                actor=actor,
                now=now,
                refund=refund.pk,
                amount=str(amount),
            )
        request.refund_due_at = None
        request.save()
    enqueue_on_commit("refunds.tasks.refund_payout_task", refund.pk)
    return refund, moves


@retry_on_deadlock
@transaction.atomic
def refund_create(
    *, request: ReturnRequest, amount: Decimal, by_user: User, now: datetime | None = None
) -> Refund:
    """An agent refunds (part of) a request; above the supervisor limit, supervisors only.

    The limit applies to what the request has refunded in all, so splitting a large refund
    into small ones still needs a supervisor.
    """
    now = now or timezone.now()
    amount = Decimal(amount).quantize(CENT)
    order, request = _lock_request(request)
    if request.status not in (ReturnStatus.INSPECTED, ReturnStatus.APPROVED, ReturnStatus.REFUNDED):
        raise ConflictError(
            _("A request in status %(status)s cannot be refunded.") % {"status": request.status},
            code="invalid_state",
            current_status=request.status,
        )
    if request.type == ReturnType.EXCHANGE:
        raise ConflictError(_("An exchange is not refunded."), code="not_refundable")
    already = sum(
        (r.amount for r in request.refunds.exclude(status=RefundStatus.FAILED)), Decimal("0")
    )
    rules = RefundRules.load()
    if already + amount > rules.supervisor_limit and not _is_supervisor(by_user):
        raise NeedsSupervisor(
            _("Refunds above %(limit)s need a supervisor.") % {"limit": rules.supervisor_limit},
            limit=str(rules.supervisor_limit),
        )
    if already + amount > request.requested_amount:
        raise return_rules.ReturnRefused(
            _("Only %(left)s of this request's %(total)s is left to refund.")
            % {"left": request.requested_amount - already, "total": request.requested_amount},
            code="amount_exceeds_request",
            left=str(request.requested_amount - already),
        )
    refund, moves = _refund(order, request, amount=amount, actor=Actor.for_user(by_user), now=now)
    return_moves_announce(request=request, moves=moves)
    return refund


@retry_on_deadlock
@transaction.atomic
def refund_retry(*, refund_id: int, by_user: User, now: datetime | None = None) -> Refund:
    """A supervisor pays a payout that failed for good again, for the same amount.

    The retry is a new refund linked to the failed one, with its own gateway key: a provider
    may answer a key it saw fail with the same failure. The amount is reserved on the order
    again under its lock, so a retry never pays more than is still refundable; a failed
    payout is retried once (a second failure of the retry is retried from the retry).
    """
    now = now or timezone.now()
    if not _is_supervisor(by_user):
        raise NeedsSupervisor(_("Only a supervisor may retry a failed payout."))
    failed = Refund.objects.select_related("request").get(pk=refund_id)
    if failed.request is not None:
        order, request = _lock_request(failed.request)
    else:
        order, request = _lock_order(failed.order_id), None
    failed = Refund.objects.select_for_update(no_key=True).get(pk=refund_id)
    if failed.status != RefundStatus.FAILED or not failed.needs_attention:
        raise ConflictError(
            _("Only a failed payout waiting for a supervisor can be retried."),
            code="not_retryable",
            refund_status=failed.status,
        )
    if Refund.objects.filter(retry_of=failed).exists():
        raise ConflictError(_("This payout was retried already."), code="already_retried")
    retry, moves = _refund(
        order, request, amount=failed.amount, actor=Actor.for_user(by_user), now=now
    )
    retry.retry_of = failed
    retry.save(update_fields=["retry_of"])
    Refund.objects.filter(pk=failed.pk).update(needs_attention=False)
    if request is not None:
        return_event_record(
            request=request,
            type=ReturnEventType.PAYOUT_RETRIED,
            actor=Actor.for_user(by_user),
            now=now,
            refund=retry.pk,
            failed_refund=failed.pk,
            amount=str(failed.amount),
        )
        return_moves_announce(request=request, moves=moves)
    return retry


def return_ticket_solve(*, request_id: int, now: datetime | None = None) -> str | None:
    """Solve the ticket of a request that ended (refunded, exchanged, cancelled, closed).

    Safe to run again: a solved or closed ticket is left as it is. Returns the ticket number.
    """
    request = ReturnRequest.objects.select_related("ticket").get(pk=request_id)
    if request.ticket is None or request.ticket.status in ("solved", "closed"):
        return None
    ticket_system_change(
        ticket=request.ticket,
        actor=Actor.system("returns"),
        status="solved",
        note=_("Return %(id)s ended: %(status)s.")
        % {"id": request.public_id, "status": request.get_status_display()},
        now=now,
    )
    return request.ticket.number


# --- Evidence ---------------------------------------------------------------------------------


@transaction.atomic
def return_evidence_add(
    *, request: ReturnRequest, files: list, actor: Actor, now: datetime | None = None
) -> list:
    """Attach evidence (photos, PDFs) to a request that is not final yet; every file of the
    request is returned.

    Allowed while the request is requested, approved or awaiting the goods, and after a
    rejection within the appeal window (the new evidence of an appeal). Each file is checked by
    ``csplatform.uploads`` (type from the content, size, at most 10 per request) before
    anything is stored.
    """
    now = now or timezone.now()
    if not files:
        raise InvalidInput(_("Attach at least one file."), errors={"files": [_("Required.")]})
    request = LIFECYCLE.lock(pk=request.pk)
    if request.status not in EVIDENCE_OPEN_STATUSES:
        raise ConflictError(
            _("Evidence can no longer be added: the request is %(status)s.")
            % {"status": request.get_status_display()},
            code="evidence_closed",
        )
    if request.status == ReturnStatus.REJECTED and request.decided_at is not None:
        appeal_until = request.decided_at + timedelta(days=RefundRules.load().appeal_days)
        if now > appeal_until:
            raise return_rules.ReturnRefused(
                _("Evidence for an appeal is accepted until %(until)s.")
                % {"until": timezone.localtime(appeal_until).strftime("%Y-%m-%d %H:%M")},
                code="appeal_window_closed",
                appeal_until=appeal_until.isoformat(),
            )
    checked = uploads_check(
        files,
        max_count=MAX_PER_RETURN_REQUEST,
        already=ReturnEvidence.objects.filter(request=request).count(),
        field="files",
    )
    added = [
        ReturnEvidence.objects.create(
            request=request,
            file=upload.as_file(),
            name=upload.name,
            content_type=upload.content_type,
            size=upload.size,
            uploaded_at=now,
        )
        for upload in checked
    ]
    return_event_record(
        request=request,
        type=ReturnEventType.EVIDENCE_ADDED,
        actor=actor,
        now=now,
        count=len(added),
        ids=[e.pk for e in added],
    )
    return list(ReturnEvidence.objects.filter(request=request).order_by("uploaded_at", "id"))
