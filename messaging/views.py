"""The desk's e-mail actions: send a failed e-mail of a ticket again (the Retry button under a
message)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from csplatform.desk import desk_user
from csplatform.errors import ConflictError
from tickets.access import tickets_visible_to

from .desk import message_deliveries_of
from .email_out import email_message_retry
from .models import EmailMessage


@require_POST
@login_required
def email_retry(request, number: str, email_id: int):
    """Queue a failed e-mail again; the answer is the message's delivery list, in place (409
    with the reason when the e-mail is not failed). The ticket's agents and supervisors only:
    anyone else finds no such ticket."""
    user = desk_user(request)
    ticket = (
        tickets_visible_to(user).select_related("customer").filter(number=number).first()
        if "\x00" not in number
        else None
    )
    email = (
        EmailMessage.objects.select_related("message")
        .filter(pk=email_id, ticket=ticket, direction=EmailMessage.Direction.OUTBOUND)
        .first()
        if ticket is not None
        else None
    )
    if ticket is None or email is None or email.message is None:
        raise Http404
    error, status = "", 200
    try:
        email_message_retry(email=email)
    except ConflictError as refused:
        error, status = refused.detail, 409
    if not request.htmx:
        return redirect(reverse("desk:ticket-detail", args=[number]))
    context = {
        "message_id": email.message.pk,
        "deliveries": message_deliveries_of(ticket, [email.message]).get(email.message.pk, []),
        "delivery_error": error,
    }
    return render(request, "tickets/partials/message_deliveries.html", context, status=status)
