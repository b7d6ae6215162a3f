from celery import shared_task

from .delivery import deliveries_send_due
from .email_sender import emails_send_due
from .imap import mailboxes_poll
from .services import outbox_events_purge


@shared_task(ignore_result=True)
def webhook_deliveries_send_task() -> int:
    """Send the due webhook deliveries: woken after each commit that wrote some, and run by beat
    so that a wake-up lost with the broker or a killed worker is caught up."""
    return deliveries_send_due()


@shared_task(ignore_result=True)
def email_messages_send_task() -> int:
    """Send the due queued e-mails: woken after each commit that queued some, and run by beat
    so that a wake-up lost with the broker or a killed worker is caught up."""
    return emails_send_due()


@shared_task(ignore_result=True)
def mailboxes_poll_task() -> int:
    """Read the new mail of every mailbox polled by IMAP (none unless one is configured)."""
    return sum(result.taken for result in mailboxes_poll().values())


@shared_task(ignore_result=True)
def webhook_outbox_purge_task() -> int:
    """Delete the events (and deliveries) past their retention, in batches; run by beat."""
    return outbox_events_purge()
