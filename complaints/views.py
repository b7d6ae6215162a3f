"""The desk's complaints: the queue (/desk/complaints/) and the complaint panel on its ticket.

Every panel action is a POST that calls one service of ``complaints.services``; htmx gets the
panel back (a refusal shown inline with its status code), with the ticket's conversation and
timeline swapped in beside it (the plan is posted to the conversation, the customer notices
noted on the timeline); without JavaScript the form posts normally and redirects back to the
ticket with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from csplatform.actors import Actor
from csplatform.api.errors import error_status
from csplatform.desk import FormInvalid, desk_user, form_data, htmx_status
from csplatform.errors import DomainError
from csplatform.roles import ADMIN, SUPERVISOR, role_of
from tickets.access import tickets_visible_to
from tickets.selectors import ticket_detail

from . import services
from .choices import ComplaintStatus, EscalationLevel, Severity
from .forms import (
    ClassifyForm,
    ConfirmedElsewhereForm,
    EscalateForm,
    FindingsForm,
    GradeForm,
    NoteForm,
    PlanForm,
    RemedyForm,
    ReopenForm,
    StartComplaintForm,
)
from .models import Complaint
from .selectors import complaint_queue, complaints_visible_to, desk_complaint_panel

PAGE_SIZE = 100


def _visible_complaint(user, number: str) -> Complaint:
    """Another team's complaint is a 404 exactly like one that does not exist."""
    if "\x00" in number or len(number) > 16:
        raise Http404
    found = complaints_visible_to(user).select_related("ticket").filter(number=number).first()
    if found is None or found.ticket is None:
        raise Http404
    return found


def _panel(request, ticket, *, error: str = "", notice: str = "", status: int = 200):
    if not request.htmx:
        if error:
            messages.error(request, error)
        if notice:
            messages.info(request, notice)
        return redirect("desk:ticket-detail", number=ticket.number)
    context = {"ticket": ticket, "complaint_error": error, "complaint_notice": notice}
    context.update(desk_complaint_panel(ticket))
    return render(request, "complaints/partials/complaint_panel.html", context, status=status)


def _accept(request, c, actor):
    services.complaint_accept(complaint=c, actor=actor)
    return _("The complaint is accepted.")


def _investigate(request, c, actor):
    services.complaint_investigate(complaint=c, actor=actor)
    return _("The investigation has started.")


def _classify(request, c, actor):
    data = form_data(ClassifyForm(request.POST))
    services.complaint_classify(complaint=c, category=data["category"], actor=actor)
    return _("The category is saved.")


def _grade(request, c, actor):
    data = form_data(GradeForm(request.POST))
    services.complaint_grade(
        complaint=c, severity=data["severity"], reason=data["reason"], actor=actor
    )
    return _("The severity is saved.")


def _escalate(request, c, actor):
    data = form_data(EscalateForm(request.POST))
    services.complaint_escalate(complaint=c, reason=data["reason"], actor=actor)
    return _("The complaint is escalated.")


def _note(request, c, actor):
    data = form_data(NoteForm(request.POST))
    services.complaint_note_add(complaint=c, note=data["note"], actor=actor)
    return _("The note is added.")


def _findings(request, c, actor):
    data = form_data(FindingsForm(request.POST))
    services.complaint_findings_set(
        complaint=c,
        root_cause=data["root_cause"],
        responsible_party=data["responsible_party"] or None,
        actor=actor,
    )
    return _("The findings are saved.")


def _plan(request, c, actor):
    data = form_data(PlanForm(request.POST))
    services.complaint_propose_plan(complaint=c, plan=data["plan"], actor=actor)
    return _("The plan is proposed to the customer.")


def _remedy(request, c, actor):
    data = form_data(RemedyForm(request.POST))
    services.complaint_remedy_record(
        complaint=c,
        remedy_type=data["remedy_type"],
        amount=data["amount"],
        note=data["note"],
        actor=actor,
    )
    return _("The remedy is recorded.")


def _request_confirmation(request, c, actor):
    services.complaint_request_confirmation(complaint=c, actor=actor)
    return _("The customer is asked to confirm.")


def _confirmed_elsewhere(request, c, actor):
    data = form_data(ConfirmedElsewhereForm(request.POST))
    services.complaint_close_confirmed_elsewhere(complaint=c, by_user=actor.user, note=data["note"])
    return _("The complaint is closed.")


def _reopen(request, c, actor):
    data = form_data(ReopenForm(request.POST))
    services.complaint_reopen(complaint=c, reason=data["reason"], actor=actor)
    return _("The complaint is reopened.")


ACTIONS = {
    "accept": _accept,
    "investigate": _investigate,
    "classify": _classify,
    "grade": _grade,
    "escalate": _escalate,
    "note": _note,
    "findings": _findings,
    "plan": _plan,
    "remedy": _remedy,
    "request-confirmation": _request_confirmation,
    "confirmed-elsewhere": _confirmed_elsewhere,
    "reopen": _reopen,
}


@require_POST
@login_required
def complaint_action(request, number: str, action: str):
    user = desk_user(request)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404
    found = _visible_complaint(user, number)
    error, notice, status = "", "", 200
    try:
        notice = handler(request, found, Actor.for_user(user))
    except DomainError as exc:
        error, status = str(exc.detail), htmx_status(error_status(exc))
    except FormInvalid as exc:
        error, status = exc.message, 422
    response = _panel(request, found.ticket, error=error, notice=notice, status=status)
    if request.htmx and not error:
        _ticket_parts_append(request, response, user, found.ticket.number)
    return response


def _ticket_parts_append(request, response: HttpResponse, user, number: str) -> None:
    """The ticket's conversation and timeline, swapped in out of band after a change."""
    ticket = ticket_detail(user=user, number=number)
    if ticket is None:  # moved out of the user's teams by the change
        return
    context = {"ticket": ticket, "oob": True}
    for part in ("tickets/partials/conversation.html", "tickets/partials/timeline.html"):
        response.content += render_to_string(part, context, request=request).encode()


@require_POST
@login_required
def complaint_start(request, number: str):
    """File a complaint from an ordinary ticket: the ticket becomes the complaint's ticket."""
    user = desk_user(request)
    found = tickets_visible_to(user).select_related("customer", "order").filter(number=number)
    ticket = found.first() if "\x00" not in number else None
    if ticket is None:
        raise Http404
    try:
        data = form_data(StartComplaintForm(request.POST))
        complaint = services.complaint_create(
            customer=ticket.customer,
            order=ticket.order,
            category=data["category"],
            channel=ticket.channel,
            description=data["description"],
            actor=Actor.for_user(user),
            ticket=ticket,
        )
    except (DomainError, FormInvalid) as exc:
        message = exc.message if isinstance(exc, FormInvalid) else str(exc.detail)
        messages.error(request, message)
        target = ticket.number
    else:
        messages.success(
            request, _("Complaint %(number)s is filed.") % {"number": complaint.number}
        )
        target = complaint.ticket.number
    url = reverse("desk:ticket-detail", args=[target])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _choice(value: str, allowed) -> list[str]:
    return [value] if value in allowed else []


@require_GET
@login_required
def complaints_queue_page(request):
    """Open complaints, gravest first; supervisors see their teams' escalated ones first."""
    user = desk_user(request)
    severity = request.GET.get("severity", "")
    level = request.GET.get("level", "")
    status = request.GET.get("status", "")
    rows = list(
        complaint_queue(
            user=user,
            statuses=_choice(status, ComplaintStatus.values),
            severities=_choice(severity, Severity.values),
            levels=[int(level)] if level in {str(v) for v in EscalationLevel.values} else [],
        )[:PAGE_SIZE]
    )
    return render(
        request,
        "complaints/queue.html",
        {
            "rows": rows,
            "now": timezone.now(),
            "severities": Severity.choices,
            "levels": EscalationLevel.choices,
            "statuses": ComplaintStatus.choices,
            "selected": {"severity": severity, "level": level, "status": status},
            "supervisor_view": role_of(user) in (SUPERVISOR, ADMIN),
        },
    )
