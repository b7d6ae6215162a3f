"""The desk's reveal action and the supervisors' personal-data access log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from csplatform.roles import ADMIN, SUPERVISOR, is_desk_user, role_of
from orders.models import Order
from tickets.access import tickets_visible_to

from . import services
from .choices import PiiField
from .forms import RevealForm
from .selectors import pii_access_log

PAGE_SIZE = 50
# The element of the customer panel that shows the masked value and receives the full one.
VALUE_ELEMENT_IDS = {
    PiiField.PHONE: "customer-phone",
    PiiField.EMAIL: "customer-email",
    PiiField.ADDRESS: "ship-to",
}


def _client_ip(request) -> str | None:
    # Behind production's proxy the last X-Forwarded-For entry is the one the proxy added
    # (earlier ones come from the client and prove nothing); REMOTE_ADDR without a proxy.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (forwarded.split(",")[-1].strip() or request.META.get("REMOTE_ADDR")) or None


def _reveal(request, *, customer, field: str, order=None, ticket=None, url: str):
    if field not in PiiField.values or (field == PiiField.ADDRESS and order is None):
        raise Http404
    context = {
        "field": field,
        "field_label": PiiField(field).label,
        "url": url,
        "value_id": VALUE_ELEMENT_IDS[field],
    }
    if request.method == "GET":
        return render(
            request, "privacy/partials/reveal_form.html", {**context, "form": RevealForm()}
        )
    form = RevealForm(request.POST)
    if not form.is_valid():
        return render(
            request, "privacy/partials/reveal_form.html", {**context, "form": form}, status=422
        )
    value, _log = services.pii_reveal(
        user=request.user,
        customer=customer,
        field=field,
        reason=form.cleaned_data["reason"],
        reason_detail=form.cleaned_data["reason_detail"],
        order=order,
        ticket=ticket,
        ip_address=_client_ip(request),
    )
    return render(request, "privacy/partials/revealed.html", {**context, "value": value})


@require_http_methods(["GET", "POST"])
@login_required
def order_pii_reveal(request, number: str, field: str):
    if not is_desk_user(request.user) or "\x00" in number:
        raise Http404
    order = get_object_or_404(Order.objects.select_related("customer"), number=number)
    return _reveal(
        request,
        customer=order.customer,
        field=field,
        order=order,
        url=request.path,
    )


@require_http_methods(["GET", "POST"])
@login_required
def ticket_pii_reveal(request, number: str, field: str):
    if not is_desk_user(request.user):
        raise Http404
    ticket = (
        tickets_visible_to(request.user)
        .select_related("customer", "order")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise Http404
    return _reveal(
        request,
        customer=ticket.customer,
        field=field,
        order=ticket.order,
        ticket=ticket,
        url=request.path,
    )


@require_GET
@login_required
def pii_access_log_page(request):
    """Supervisors of any team and admins read who revealed what, when and why."""
    if role_of(request.user) not in (SUPERVISOR, ADMIN):
        raise Http404
    customer = request.GET.get("customer", "").replace("\x00", "").strip()
    username = request.GET.get("user", "").replace("\x00", "").strip()
    rows = pii_access_log(customer_external_id=customer, username=username)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "privacy/access_log.html",
        {"page": page, "customer": customer, "username": username},
    )
