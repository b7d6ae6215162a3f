"""Reads of return requests that the API and the desk share."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from csplatform.roles import ADMIN, role_of
from csplatform.uploads import ACCEPT_ATTRIBUTE, MAX_PER_RETURN_REQUEST
from tickets.access import tickets_visible_to

from .choices import EVIDENCE_OPEN_STATUSES, RefundStatus, ReturnReason, ReturnStatus, ReturnType
from .models import (
    CategoryRule,
    Refund,
    RefundRules,
    ReturnEvent,
    ReturnEvidence,
    ReturnLine,
    ReturnRequest,
)
from .rules import (
    MERCHANT_FAULT,
    no_reason_days_for,
    quantities_claimed,
    warranty_days_for,
    window_end,
)


def returns_visible_to(user) -> QuerySet:
    """Admins see every request; agents and supervisors those whose ticket is in their teams."""
    requests = ReturnRequest.objects.all()
    if role_of(user) == ADMIN:
        return requests
    return requests.filter(ticket__in=tickets_visible_to(user).values("id"))


def with_detail(queryset: QuerySet) -> QuerySet:
    """Everything the detail shows, in a fixed number of queries."""
    return queryset.select_related("order", "ticket", "decided_by", "proposed_by").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")),
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")),
        Prefetch("events", queryset=ReturnEvent.objects.order_by("at", "id")),
        Prefetch("evidence", queryset=ReturnEvidence.objects.order_by("uploaded_at", "id")),
    )


def return_detail(*, public_id: str, user=None) -> ReturnRequest | None:
    """One request: any for the storefront (``user`` None), the visible ones for desk users."""
    queryset = ReturnRequest.objects.all() if user is None else returns_visible_to(user)
    return with_detail(queryset).filter(public_id=public_id).first()


def return_queue(
    *,
    user,
    statuses: list[str] | None = None,
    types: list[str] | None = None,
    order_number: str = "",
    needs_supervisor: bool = False,
) -> QuerySet:
    """The requests a desk user works on, newest first; ``needs_supervisor``: the approvals
    an agent proposed and the payouts that failed for good."""
    failed_payout = Refund.objects.filter(request=OuterRef("pk"), needs_attention=True)
    requests = (
        returns_visible_to(user)
        .select_related("order", "ticket", "proposed_by")
        .annotate(payout_needs_attention=Exists(failed_payout))
        .order_by("-created_at", "-id")
    )
    if statuses:
        requests = requests.filter(status__in=statuses)
    if types:
        requests = requests.filter(type__in=types)
    if order_number:
        requests = requests.filter(order__number=order_number)
    if needs_supervisor:
        requests = requests.filter(
            Q(status=ReturnStatus.REQUESTED, proposed_by__isnull=False)
            | Q(payout_needs_attention=True)
        )
    return requests


def desk_return_panel(ticket) -> dict:
    """What the ticket page shows of the ticket's return, in a fixed number of queries.

    With a return (7 queries): the request with its order and deciders, its lines, refunds and
    evidence; the rules, the category rules and what other requests hold. Without one: the
    order's lines and what requests hold, for the "start a return" form (3 queries, 1 without
    an order).
    """
    from decimal import Decimal

    found = (
        ReturnRequest.objects.filter(ticket_id=ticket.pk)
        .select_related("order", "decided_by", "proposed_by")
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("order_line")),
            Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")),
            Prefetch("evidence", queryset=ReturnEvidence.objects.order_by("uploaded_at", "id")),
        )
        .first()
    )
    if found is None:
        order = ticket.order
        if order is None:
            return {"return_request": None}
        held = quantities_claimed(order)
        start_lines = [
            {
                "line": line,
                "returnable": max(line.quantity - line.quantity_returned - held.get(line.pk, 0), 0),
            }
            for line in order.lines.all()
        ]
        return {
            "return_request": None,
            "start_lines": start_lines,
            "return_types": ReturnType.choices,
            "return_reasons": ReturnReason.choices,
        }

    order = found.order
    rules = RefundRules.load()
    category_rules = {c.category: c for c in CategoryRule.objects.all()}
    held = quantities_claimed(order)
    delivered = order.delivered_at
    lines = []
    for line in found.lines.all():
        ol = line.order_line
        rule = category_rules.get(ol.category)
        excluded = rule is not None and not rule.no_reason_returns
        no_reason_end = (
            window_end(delivered, no_reason_days_for(rule, rules))
            if delivered and not excluded
            else None
        )
        warranty_end = window_end(delivered, warranty_days_for(rule, rules)) if delivered else None
        lines.append(
            {
                "line": line,
                "order_line": ol,
                "amount": (ol.unit_price * line.quantity).quantize(Decimal("0.01")),
                "returnable": max(ol.quantity - ol.quantity_returned - held.get(ol.pk, 0), 0),
                "no_reason_excluded": excluded,
                "no_reason_end": no_reason_end,
                "warranty_end": warranty_end,
            }
        )
    refunds = list(found.refunds.all())
    refunded = sum((r.amount for r in refunds if r.status != RefundStatus.FAILED), Decimal("0.00"))
    return {
        "return_request": found,
        "return_lines": lines,
        "return_refunds": refunds,
        "return_refunded": refunded,
        "return_left": max(found.requested_amount - refunded, Decimal("0")),
        "order_refundable": order.paid_amount - order.refunded_amount,
        "merchant_fault": found.reason in MERCHANT_FAULT,
        "supervisor_limit": rules.supervisor_limit,
        "can_refund": found.type != ReturnType.EXCHANGE
        and found.requested_amount > refunded
        and found.status in (ReturnStatus.APPROVED, ReturnStatus.INSPECTED, ReturnStatus.REFUNDED),
        "waits_for_supervisor": found.status == ReturnStatus.REQUESTED
        and found.proposed_by_id is not None,
        # The upload form: while the request takes evidence and has room for more.
        "evidence_open": found.status in EVIDENCE_OPEN_STATUSES
        and len(found.evidence.all()) < MAX_PER_RETURN_REQUEST,
        "evidence_accept": ACCEPT_ATTRIBUTE,
        "evidence_max_count": MAX_PER_RETURN_REQUEST,
    }
