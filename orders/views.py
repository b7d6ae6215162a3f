from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from csplatform.roles import is_desk_user

from .choices import OrderStatus
from .models import Order
from .selectors import order_search
from .transitions import allowed_next

PAGE_SIZE = 50


def _require_desk_user(request) -> None:
    if not is_desk_user(request.user):
        raise Http404


@require_GET
@login_required
def order_list(request):
    _require_desk_user(request)
    # PostgreSQL refuses NUL in text: drop it rather than fail on a pasted search.
    q = request.GET.get("q", "").replace("\x00", "")
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    with_exception = request.GET.get("exceptions") == "open"
    orders = order_search(q=q, status=status, with_open_exception=with_exception)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "orders/_order_rows.html" if request.htmx else "orders/order_list.html"
    return render(
        request,
        template,
        {
            "page": page,
            "q": q,
            "status": status,
            "with_exception": with_exception,
            "statuses": OrderStatus.choices,
        },
    )


@require_GET
@login_required
def order_detail(request, number: str):
    _require_desk_user(request)
    if "\x00" in number:  # no order has it, and PostgreSQL refuses to compare with it
        raise Http404
    order = get_object_or_404(Order.objects.with_related(), number=number)
    return render(
        request,
        "orders/order_detail.html",
        {"order": order, "allowed_next": allowed_next(order.status)},
    )
