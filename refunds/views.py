"""The desk's return panel on the ticket page and the supervisor approval queue.

Every action is a POST that calls one service of ``refunds.services``; htmx gets the panel
back (with the refusal inline: a ``DomainError`` shows its detail, an approval above the
supervisor limit says it went to the approval queue); without JavaScript the form posts
normally and redirects back to the ticket with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from csplatform.actors import Actor
from csplatform.api.errors import error_status
from csplatform.desk import FormInvalid, desk_user, form_data, form_error, htmx_status
from csplatform.errors import DomainError
from csplatform.roles import ADMIN, SUPERVISOR, role_of
from csplatform.uploads import upload_response
from tickets.access import tickets_visible_to
from tickets.models import Ticket

from . import services
from .forms import DecisionForm, InspectForm, RefundForm, RejectForm, StartReturnForm
from .models import ReturnEvidence, ReturnRequest
from .selectors import desk_return_panel, return_queue, returns_visible_to
from .services import NeedsSupervisor


def _visible_return(user, public_id: str) -> ReturnRequest:
    """Another team's request is a 404 exactly like one that does not exist."""
    if "\x00" in public_id or len(public_id) > 16:
        raise Http404
    found = returns_visible_to(user).select_related("ticket").filter(public_id=public_id).first()
    if found is None or found.ticket is None:
        raise Http404
    return found


def _panel(request, ticket: Ticket, *, error: str = "", notice: str = "", status: int = 200):
    """The answer to an action: the panel (htmx) or a redirect to the ticket with a message."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        if notice:
            messages.info(request, notice)
        return redirect("desk:ticket-detail", number=ticket.number)
    context = {"ticket": ticket, "return_error": error, "return_notice": notice}
    context.update(desk_return_panel(ticket))
    return render(request, "refunds/partials/return_panel.html", context, status=status)


def _act(request, public_id: str, action, *, approval: bool = False) -> object:
    user = desk_user(request)
    found = _visible_return(user, public_id)
    error, notice, status = "", "", 200
    try:
        notice = action(found, user) or ""
    except NeedsSupervisor as exc:
        status = error_status(exc)
        if approval and exc.code == "needs_supervisor":
            notice = _(
                "Sent to the supervisor approval queue: %(detail)s A supervisor decides it there."
            ) % {"detail": exc.detail}
        else:
            error = str(exc.detail)
    except DomainError as exc:
        error, status = str(exc.detail), htmx_status(error_status(exc))
    except FormInvalid as exc:
        error, status = exc.message, 422
    return _panel(request, found.ticket, error=error, notice=notice, status=status)


@require_POST
@login_required
def return_approve(request, public_id: str):
    def action(found, user):
        data = form_data(DecisionForm(request.POST))
        services.return_request_approve(request=found, by_user=user, reason=data["reason"])
        return _("The request is approved.")

    return _act(request, public_id, action, approval=True)


@require_POST
@login_required
def return_reject(request, public_id: str):
    def action(found, user):
        data = form_data(RejectForm(request.POST))
        services.return_request_reject(request=found, by_user=user, reason=data["reason"])
        return _("The request is rejected.")

    return _act(request, public_id, action)


@require_POST
@login_required
def return_receive(request, public_id: str):
    def action(found, user):
        services.return_request_receive(request=found, by_user=user)
        return _("The goods are marked as received.")

    return _act(request, public_id, action)


@require_POST
@login_required
def return_inspect(request, public_id: str):
    def action(found, user):
        data = form_data(InspectForm(request.POST))
        services.return_request_inspect(
            request=found, by_user=user, passed=data["passed"], notes=data["notes"]
        )
        return _("The inspection is recorded.")

    return _act(request, public_id, action)


@require_POST
@login_required
def return_exchange(request, public_id: str):
    def action(found, user):
        services.return_request_exchange(request=found, by_user=user)
        return _("The replacement is on its way.")

    return _act(request, public_id, action)


@require_POST
@login_required
def return_refund(request, public_id: str):
    def action(found, user):
        data = form_data(RefundForm(request.POST))
        refund = services.refund_create(request=found, amount=data["amount"], by_user=user)
        return _("A refund of %(amount)s %(currency)s is on its way.") % {
            "amount": refund.amount,
            "currency": refund.currency,
        }

    return _act(request, public_id, action)


@require_POST
@login_required
def refund_retry(request, public_id: str, refund_id: int):
    """A supervisor pays a payout that failed for good again (a new refund, same amount)."""

    def action(found, user):
        if not found.refunds.filter(pk=refund_id).exists():
            raise Http404
        retry = services.refund_retry(refund_id=refund_id, by_user=user)
        return _("A new payout of %(amount)s %(currency)s is on its way.") % {
            "amount": retry.amount,
            "currency": retry.currency,
        }

    return _act(request, public_id, action)


@require_POST
@login_required
def return_evidence_add(request, public_id: str):
    def action(found, user):
        evidence = services.return_evidence_add(
            request=found, files=request.FILES.getlist("files"), actor=Actor.for_user(user)
        )
        return ngettext(
            "The evidence is added: %(count)d file in all.",
            "The evidence is added: %(count)d files in all.",
            len(evidence),
        ) % {"count": len(evidence)}

    return _act(request, public_id, action)


@require_GET
@login_required
def return_evidence_download(request, public_id: str, evidence_id: int):
    """An evidence file of a request the user may see (like the panel); any other is a 404."""
    user = desk_user(request)
    found = _visible_return(user, public_id)
    evidence = ReturnEvidence.objects.filter(pk=evidence_id, request=found).first()
    if evidence is None:
        raise Http404
    return upload_response(evidence.file, name=evidence.name, content_type=evidence.content_type)


@require_POST
@login_required
def return_start(request, number: str):
    """Start a return for the customer on the ticket's order; the ticket handles it."""
    user = desk_user(request)
    if "\x00" in number:
        raise Http404
    ticket = tickets_visible_to(user).select_related("order").filter(number=number).first()
    if ticket is None:
        raise Http404
    if ticket.order is None:
        return _panel(request, ticket, error=_("No order linked to this ticket."), status=422)
    form = StartReturnForm(request.POST, order_lines=ticket.order.lines.all())
    if not form.is_valid():
        return _panel(request, ticket, error=form_error(form), status=422)
    data = form.cleaned_data
    try:
        services.return_request_create(
            order=ticket.order,
            type=data["type"],
            reason=data["reason"],
            lines=data["lines"],
            description=data["description"],
            actor=Actor.for_user(user),
            ticket=ticket,
        )
    except DomainError as exc:
        return _panel(request, ticket, error=str(exc.detail), status=htmx_status(error_status(exc)))
    return _panel(request, ticket, notice=_("The return is started."))


@require_GET
@login_required
def approvals_page(request):
    """Supervisors' queue: approvals agents proposed, and payouts that failed for good."""
    user = desk_user(request)
    if role_of(user) not in (SUPERVISOR, ADMIN):
        raise PermissionDenied
    rows = list(return_queue(user=user, needs_supervisor=True)[:200])
    return render(
        request,
        "refunds/approvals.html",
        {
            "proposals": [r for r in rows if r.status == "requested" and r.proposed_by_id],
            "failed_payouts": [r for r in rows if r.payout_needs_attention],
        },
    )
