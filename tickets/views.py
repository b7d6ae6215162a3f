"""The agent desk for tickets: the queue (/desk/) and the ticket page (/desk/tickets/<number>/).

Reads go through ``tickets.selectors``, writes through ``tickets.services``. The common actions
answer htmx requests with the page parts they change (out-of-band swaps); without JavaScript the
same forms post normally and redirect back with a message. A refusal by the rules (a
``DomainError``) is shown inline with its status code, never as an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from csplatform.api.errors import error_status
from csplatform.desk import desk_user, htmx_status
from csplatform.errors import DomainError
from csplatform.uploads import ACCEPT_ATTRIBUTE, MAX_PER_MESSAGE, upload_response
from orders.choices import Channel, ExceptionOutcome
from orders.models import OrderException
from orders.services import EXCEPTION_NOTE_MAX_LENGTH

from . import services
from .access import is_supervisor_of, team_ids_for, tickets_visible_to
from .canned import render as canned_render
from .choices import Presence, Priority, SlaMetric, TicketKind, TicketStatus
from .deliveries import message_deliveries
from .forms import (
    ORDERING_LABELS,
    QUEUE_VIEW_LABELS,
    REPLY_ACTIONS,
    SETTABLE_STATUSES,
    BulkForm,
    OrderExceptionResolveForm,
    PresenceForm,
    QueueQuery,
    ReplyForm,
    TicketFieldsForm,
)
from .models import Attachment, Notification, Team, Ticket
from .notifications import unread_count
from .panels import ticket_panels
from .selectors import (
    canned_replies_for,
    customer_context,
    queue_views_for,
    ticket_detail,
    ticket_queue,
)
from .transitions import TicketTransitionNotAllowed, allowed_next

User = get_user_model()

PAGE_SIZE = 50
# "Next ticket" looks this far down the queue for the current ticket.
NEXT_TICKET_WINDOW = 1000
METRIC_ORDER = {metric: i for i, metric in enumerate(SlaMetric.values)}


def _visible_ticket(user, number: str) -> Ticket:
    # A ticket of another team is a 404 exactly like one that does not exist.
    if "\x00" in number:
        raise Http404
    ticket = tickets_visible_to(user).filter(number=number).first()
    if ticket is None:
        raise Http404
    return ticket


def _lifecycle_order(statuses) -> list[tuple[str, str]]:
    """Statuses as (value, label) in the order of the lifecycle, not of the alphabet."""
    return [(value, label) for value, label in TicketStatus.choices if value in statuses]


def error_message(exc: DomainError) -> str:
    """The refusal as an agent reads it: statuses by their labels, in the agent's language."""
    if isinstance(exc, TicketTransitionNotAllowed):
        labels = dict(TicketStatus.choices)
        allowed = [str(label) for _, label in _lifecycle_order(exc.extra.get("allowed", []))]
        return _(
            "A ticket that is “%(current)s” cannot become “%(target)s”. Possible: %(allowed)s."
        ) % {
            "current": labels[exc.extra["current_status"]],
            "target": labels[exc.extra["requested_status"]],
            "allowed": ", ".join(allowed) or "—",
        }
    return str(exc.detail)


def _form_error(form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return _("The request is not valid.")


def _back(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


# --- The queue --------------------------------------------------------------------------------


@require_GET
@login_required
def queue_page(request):
    user = desk_user(request)
    now = timezone.now()
    query = QueueQuery.parse(request.GET, user)
    tickets = ticket_queue(user=user, view=query.view, filters=query.filters, now=now)
    # One row more than a page tells whether there is a next page, without counting the queue.
    offset = (query.page - 1) * PAGE_SIZE
    rows = list(tickets[offset : offset + PAGE_SIZE + 1])
    has_next = len(rows) > PAGE_SIZE
    context = {
        "rows": rows[:PAGE_SIZE],
        "query": query,
        "page_number": query.page,
        "has_next": has_next,
        "now": now,
        "poll_url": f"{reverse('desk:home')}?{query.querystring}&page={query.page}",
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "tickets/partials/queue_rows.html", context)
    else:
        team_ids = team_ids_for(user)
        members = User.objects.filter(is_active=True, teams__isnull=False)
        if team_ids is not None:
            members = members.filter(teams__in=team_ids)
        context.update(
            views=[(v, QUEUE_VIEW_LABELS[v]) for v in queue_views_for(user)],
            statuses=TicketStatus.choices,
            settable_statuses=SETTABLE_STATUSES,
            priorities=Priority.choices,
            kinds=TicketKind.choices,
            channels=Channel.choices,
            orderings=ORDERING_LABELS.items(),
            members=list(members.distinct().order_by("username")),
        )
        response = render(request, "tickets/queue.html", context)
    # The same URL answers with the page or with its rows: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@login_required
def tickets_bulk(request):
    user = desk_user(request)
    form = BulkForm(request.POST)
    results, error = [], ""
    if form.is_valid():
        data = form.cleaned_data
        assignee = ...
        if data["assignee"] == "me":
            assignee = user
        elif data["assignee"] == "none":
            assignee = None
        elif data["assignee"]:
            assignee = User.objects.filter(username=data["assignee"], is_active=True).first()
            if assignee is None:
                error = _("No active user with this username.")
        if not error:
            results = services.tickets_bulk_update(
                numbers=data["numbers"],
                by_user=user,
                status=data["status"] or None,
                priority=data["priority"] or None,
                assignee=assignee,
            )
    else:
        error = _form_error(form)
    succeeded = [r.number for r in results if r.succeeded]
    failed = [(r.number, error_message(r.error)) for r in results if not r.succeeded]
    if not request.htmx:
        if error:
            messages.error(request, error)
        if succeeded:
            messages.success(request, _("Updated: %(numbers)s") % {"numbers": ", ".join(succeeded)})
        for number, reason in failed:
            messages.error(request, f"{number}: {reason}")
        return redirect(_back(request, reverse("desk:home")))
    response = render(
        request,
        "tickets/partials/bulk_outcome.html",
        {"error": error, "succeeded": succeeded, "failed": failed},
        status=422 if error else 200,
    )
    if results:
        trigger_client_event(response, "queue-refresh")
    return response


# --- The ticket page --------------------------------------------------------------------------


def _ticket_context(user, ticket: Ticket, queue: str) -> dict:
    team_members = []
    supervisor = is_supervisor_of(user, ticket.team_id)
    if supervisor and ticket.team_id:
        team_members = list(ticket.team.members.filter(is_active=True).order_by("username"))
    can_move = supervisor or ticket.assignee_id == user.pk
    return {
        "ticket": ticket,
        "queue": queue,
        "now": timezone.now(),
        "is_supervisor": supervisor,
        "team_members": team_members,
        "can_move": can_move,
        "teams": list(Team.objects.order_by("name")) if can_move else [],
        "next_statuses": _lifecycle_order(allowed_next(ticket.status)),
        "attachment_accept": ACCEPT_ATTRIBUTE,
        "attachment_max_count": MAX_PER_MESSAGE,
        "priorities": Priority.choices,
        "kinds": TicketKind.choices,
        "tag_text": ", ".join(t.name for t in ticket.tags.all()),
        # In the order the clocks run (first response ... closure), not alphabetically.
        "sla_clocks": sorted(
            ticket.sla_clocks.all(), key=lambda c: (METRIC_ORDER.get(c.metric, 99), c.cycle)
        ),
        "exception_outcomes": ExceptionOutcome.choices,
        "exception_note_max_length": EXCEPTION_NOTE_MAX_LENGTH,
        # The milestone a reply "as handling plan" records (reply_box.html offers it until then).
        "plan_milestone": SlaMetric.PLAN,
        # Where each public message went (e-mail, webhook), for the whole conversation at once.
        # Read only if the conversation is rendered (not by every htmx change of the page).
        "message_deliveries": SimpleLazyObject(
            lambda: message_deliveries(ticket, list(ticket.messages.all()))
        ),
    }


def _ticket_url(number: str, queue: str) -> str:
    """The ticket page, remembering the queue it was opened from (for "next ticket")."""
    url = reverse("desk:ticket-detail", args=[number])
    return f"{url}?{urlencode({'queue': queue})}" if queue else url


def _queue_param(request) -> str:
    """The queue a ticket was opened from, rebuilt from its known filters only: it goes back
    into links and redirect headers."""
    raw = request.POST.get("queue") or request.GET.get("queue") or ""
    return QueueQuery.from_querystring(raw, request.user).querystring if raw else ""


def _load(user, number: str) -> Ticket | None:
    return ticket_detail(user=user, number=number)


@require_GET
@login_required
def ticket_page(request, number: str):
    user = desk_user(request)
    if "\x00" in number:
        raise Http404
    ticket = _load(user, number)
    if ticket is None:
        raise Http404
    queue = _queue_param(request)
    context = _ticket_context(user, ticket, queue)
    context.update(
        customer=customer_context(ticket, user=user),
        canned_replies=canned_replies_for(ticket.team_id),
        reply_form={"body": "", "error": ""},
        queue_url=f"{reverse('desk:home')}?{queue}" if queue else reverse("desk:home"),
    )
    panels = ticket_panels(ticket)  # the complaint and return panels, a fixed number of queries
    for panel in panels:
        context.update(panel.context)
    context["panels"] = panels
    return render(request, "tickets/ticket_detail.html", context)


def _after_change(request, user, number: str, *, parts: list[str], status: int = 200, **extra):
    """The answer to a change on the ticket page: the changed parts (htmx) or a redirect."""
    queue = _queue_param(request)
    ticket = _load(user, number)
    if ticket is None:  # moved to a team the user is not in: nothing left to show here
        messages.info(request, _("Ticket %(number)s moved out of your teams.") % {"number": number})
        url = f"{reverse('desk:home')}?{queue}" if queue else reverse("desk:home")
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if not request.htmx:
        for key in ("reply_error", "fields_error", "order_error"):
            if extra.get(key):
                messages.error(request, extra[key])
        return redirect(_ticket_url(number, queue))
    context = _ticket_context(user, ticket, queue)
    if "reply" in parts:
        context["canned_replies"] = canned_replies_for(ticket.team_id)
    context.update(parts=parts, oob=True, **extra)
    return render(request, "tickets/partials/ticket_changed.html", context, status=status)


@require_POST
@login_required
def ticket_reply(request, number: str):
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    form = ReplyForm(request.POST)
    error, status = "", 200
    if form.is_valid():
        action = form.cleaned_data["action"]
        try:
            services.ticket_reply(
                ticket=ticket,
                user=user,
                body=form.cleaned_data["body"],
                internal=action == "note",
                then_status=REPLY_ACTIONS[action],
                attachments=request.FILES.getlist("attachments"),
                as_plan=action == "reply_plan",
            )
        except DomainError as exc:
            # htmx swaps 403/409/422 answers (base.html): a refused file (400) shows as 422.
            error, status = error_message(exc), htmx_status(error_status(exc))
    else:
        error, status = _form_error(form), 422
    # On a refusal the draft stays in the box; after a reply the box is empty again.
    draft = request.POST.get("body", "") if error else ""
    return _after_change(
        request,
        user,
        number,
        parts=["header", "conversation", "reply", "fields", "timeline"],
        status=status,
        reply_form={"body": draft, "error": error},
        reply_error=error,
    )


@require_GET
@login_required
def attachment_download(request, number: str, attachment_id: int):
    """A file of a message on a ticket the user may see; any other is a 404."""
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    attachment = Attachment.objects.filter(pk=attachment_id, message__ticket=ticket).first()
    if attachment is None:
        raise Http404
    return upload_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type
    )


@require_POST
@login_required
def ticket_fields_update(request, number: str):
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    form = TicketFieldsForm(request.POST)
    error, status = "", 200
    if form.is_valid():
        data = form.changed_values()
        team = None
        if data.get("team"):
            team = Team.objects.filter(pk=data["team"]).first()
        try:
            if data.get("team") and team is None:
                raise DomainError(_("No such team."), code="invalid")
            services.ticket_update(
                ticket=ticket,
                by_user=user,
                status=data.get("status") or None,
                priority=data.get("priority") or None,
                kind=data.get("kind") or None,
                team=team,
                tags=data.get("tags"),
            )
        except DomainError as exc:
            error, status = error_message(exc), error_status(exc)
    else:
        error, status = _form_error(form), 422
    return _after_change(
        request,
        user,
        number,
        parts=["header", "fields", "timeline"],
        status=status,
        fields_error=error,
    )


@require_POST
@login_required
def ticket_assign(request, number: str):
    """Claim (``me``), reassign (a username: supervisors) or unassign (``none``)."""
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    value = request.POST.get("assignee", "").strip()
    error, status = "", 200
    try:
        if value == "me":
            assignee = user
        elif value == "none":
            assignee = None
        else:
            assignee = User.objects.filter(username=value, is_active=True).first()
            if assignee is None:
                raise DomainError(_("No active user with this username."), code="invalid")
        services.ticket_update(ticket=ticket, by_user=user, assignee=assignee)
    except DomainError as exc:
        error, status = error_message(exc), error_status(exc)
    return _after_change(
        request,
        user,
        number,
        parts=["header", "fields", "timeline"],
        status=status,
        fields_error=error,
    )


@require_POST
@login_required
def ticket_accept(request, number: str):
    """受理 of an after-sales ticket: the acceptance timer stops."""
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    error, status = "", 200
    try:
        services.ticket_accept(ticket=ticket, user=user)
    except DomainError as exc:
        error, status = error_message(exc), error_status(exc)
    return _after_change(
        request,
        user,
        number,
        parts=["header", "fields", "reply", "timeline"],
        status=status,
        fields_error=error,
    )


@require_POST
@login_required
def ticket_exception_resolve(request, number: str, exception_id: int):
    """Resolve an open exception of the ticket's order with an outcome and an optional note."""
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    # An exception of another order is a 404 like one that does not exist.
    exception = None
    if ticket.order_id is not None:
        exception = OrderException.objects.filter(pk=exception_id, order=ticket.order_id).first()
    if exception is None:
        raise Http404
    form = OrderExceptionResolveForm(request.POST)
    error, status = "", 200
    if form.is_valid():
        try:
            services.ticket_order_exception_resolve(
                ticket=ticket,
                exception=exception,
                by_user=user,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
            )
        except DomainError as exc:
            error, status = error_message(exc), htmx_status(error_status(exc))
    else:
        # 422, not 400: htmx shows 403/409/422 answers only (base.html).
        error, status = _form_error(form), 422
    return _after_change(
        request,
        user,
        number,
        parts=["order", "timeline"],
        status=status,
        order_error=error,
    )


@require_GET
@login_required
def ticket_canned_reply(request, number: str):
    """The reply box with a canned reply, its variables filled, added to what is typed."""
    user = desk_user(request)
    ticket = _visible_ticket(user, number)
    try:
        canned_id = int(request.GET.get("canned", ""))
    except ValueError:
        raise Http404 from None
    canned = canned_replies_for(ticket.team_id).filter(pk=canned_id).first()
    if canned is None:
        raise Http404
    typed = request.GET.get("body", "").rstrip()
    filled = canned_render(canned.body, ticket=ticket, agent=user)
    body = f"{typed}\n\n{filled}" if typed else filled
    return render(request, "tickets/partials/reply_body.html", {"body": body})


@require_GET
@login_required
def ticket_next(request, number: str):
    """The ticket after this one in the queue it was opened from (or the queue's first)."""
    user = desk_user(request)
    query = QueueQuery.from_querystring(_queue_param(request), user)
    numbers = list(
        ticket_queue(user=user, view=query.view, filters=query.filters, now=timezone.now())
        .select_related(None)
        .prefetch_related(None)
        .values_list("number", flat=True)[:NEXT_TICKET_WINDOW]
    )
    # A ticket that left the queue (solved, pending, reassigned) makes the queue's top the next.
    following = numbers[numbers.index(number) + 1 :] if number in numbers else numbers
    if not following:
        messages.info(request, _("No more tickets in this queue."))
        return redirect(f"{reverse('desk:home')}?{query.querystring}")
    return redirect(_ticket_url(following[0], query.querystring))


# --- Presence ---------------------------------------------------------------------------------


@require_POST
@login_required
def presence_update(request):
    user = desk_user(request)
    form = PresenceForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_form_error(form), status=422)
    services.agent_set_presence(user=user, presence=form.cleaned_data["presence"])
    if request.htmx:
        context = {
            "presence": form.cleaned_data["presence"],
            "choices": Presence.choices,
            "next_url": request.htmx.current_url_abs_path or reverse("desk:home"),
        }
        return render(request, "tickets/partials/presence.html", context)
    return redirect(_back(request, reverse("desk:home")))


# --- Notifications (the bell) -----------------------------------------------------------------


@require_GET
@login_required
def notifications_bell(request):
    """The bell's unread count, loaded by htmx after the page so pages keep their queries."""
    user = desk_user(request)
    count = unread_count(user, timezone.now())
    return render(request, "tickets/partials/bell.html", {"unread": count})


@require_GET
@login_required
def notifications_page(request):
    user = desk_user(request)
    now = timezone.now()
    rows = list(
        Notification.objects.filter(user=user, deliver_after__lte=now)
        .select_related("ticket")
        .order_by("-deliver_after", "-id")[:100]
    )
    return render(request, "tickets/notifications.html", {"notifications": rows})


@require_POST
@login_required
def notifications_read(request):
    """Mark one notification (``id``) or all of them read; then go to its ticket or back."""
    user = desk_user(request)
    now = timezone.now()
    unread = Notification.objects.filter(user=user, read_at__isnull=True, deliver_after__lte=now)
    target = request.POST.get("id", "")
    if target.isdigit():
        notification = unread.filter(pk=int(target)).select_related("ticket").first()
        unread.filter(pk=int(target)).update(read_at=now)
        if notification is not None and notification.ticket_id:
            return redirect("desk:ticket-detail", number=notification.ticket.number)
    else:
        unread.update(read_at=now)
    return redirect("desk:notifications")
