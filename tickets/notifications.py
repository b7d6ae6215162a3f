"""Notifications to desk users: the bell in the desk, and one e-mail each.

E-mails are sent by a periodic task of their own (``notifications_send_due``, beside the SLA
sweep), not from the request or transaction that created them, so a crash between the two
loses nothing; a notification held outside business hours is shown and sent from its
``deliver_after`` time.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from .models import Notification

TEXTS = {
    "sla_warning": "{number}: {metric} is breaching soon",
    "sla_breach": "{number}: {metric} breached",
    "sla_escalation": "{number}: {metric} breached, escalation level {level}",
    "refund_overdue": "{number}: the refund is overdue",
    "complaint_escalation": "{number}: complaint {complaint} escalated to level {level}: {reason}",
}


def notify(
    *,
    users,
    ticket,
    kind: str,
    now: datetime,
    sla_event=None,
    hold_until_open=None,
    **fmt,
) -> list[Notification]:
    """Create one notification per distinct user (``None`` entries are skipped).

    ``hold_until_open``: a WorkCalendar; outside its open hours the notification waits for
    the next opening.
    """
    rows = notifications_for(
        users=users,
        ticket=ticket,
        kind=kind,
        now=now,
        sla_event=sla_event,
        hold_until_open=hold_until_open,
        **fmt,
    )
    return Notification.objects.bulk_create(rows)


def notifications_for(
    *,
    users,
    ticket,
    kind: str,
    now: datetime,
    sla_event=None,
    hold_until_open=None,
    **fmt,
) -> list[Notification]:
    """The unsaved notifications ``notify`` creates: for callers that save many at once."""
    deliver_after = now
    if hold_until_open is not None and hold_until_open.has_open_time:
        deliver_after = hold_until_open.next_opening(now)
    text = TEXTS.get(kind, "{number}").format(number=ticket.number, **fmt)[:300]
    seen, rows = set(), []
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                user=user,
                ticket=ticket,
                kind=kind,
                text=text,
                created_at=now,
                deliver_after=deliver_after,
                sla_event=sla_event,
            )
        )
    return rows


def unread_count(user, now: datetime) -> int:
    return Notification.objects.filter(
        user=user, read_at__isnull=True, deliver_after__lte=now
    ).count()


def notifications_send_due(*, now: datetime, batch_size: int = 200) -> int:
    """E-mail the delivered notifications not yet e-mailed; returns how many were sent."""
    sent = 0
    while True:
        with transaction.atomic():
            # The batch is locked by one single-table query, read off its partial index in
            # order; then loaded with users and tickets. Joined in one query, a burst newer
            # than the table's statistics got every unsent row joined and sorted per batch.
            batch = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(emailed_at__isnull=True, deliver_after__lte=now)
                .order_by("deliver_after", "id")
                .values_list("id", flat=True)[:batch_size]
            )
            due = list(
                Notification.objects.filter(pk__in=batch)
                .select_related("user", "ticket")
                .order_by("deliver_after", "id")
            )
            messages = [
                EmailMessage(
                    subject=f"[CS Desk] {n.text}",
                    body=f"{n.text}\n\n/desk/tickets/{n.ticket.number}/\n" if n.ticket else n.text,
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    to=[n.user.email],
                )
                for n in due
                if n.user.email
            ]
            if messages:
                with get_connection() as connection:
                    sent += connection.send_messages(messages) or 0
            for n in due:
                n.emailed_at = now
            # One value for the whole batch: a plain UPDATE, not a CASE per row.
            Notification.objects.filter(pk__in=[n.pk for n in due]).update(emailed_at=now)
        if len(batch) < batch_size:
            return sent
