"""Reads of return requests that the API and the desk share."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from csplatform.roles import ADMIN, role_of
from tickets.access import tickets_visible_to

from .choices import ReturnStatus
from .models import Refund, ReturnEvent, ReturnLine, ReturnRequest


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
