"""The Celery app and its beat schedule."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings.base")

# Read from the environment here, not from Django's settings: this module is imported while
# the settings are (csplatform/__init__.py). The end-to-end tests sweep more often.
WEBHOOKS_SWEEP_SECONDS = float(os.environ.get("WEBHOOKS_SWEEP_SECONDS", "20"))

app = Celery("csplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # The SLA sweeper: due clocks live in the database, every sweep reads the due ones.
    "sla-sweep": {
        "task": "tickets.tasks.sla_sweep_task",
        "schedule": 15.0,
        "options": {"expires": 14},  # a sweep queued while no worker ran is moot
    },
    # The e-mails of desk notifications (SLA alerts and others), apart from the sweep.
    "notifications-email": {
        "task": "tickets.tasks.notifications_email_task",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    # Every running clock resynced after the SLA rules changed under it (a request row, so a
    # run cut short is done again by the next one).
    "sla-recompute-requested": {
        "task": "tickets.tasks.sla_recompute_requested_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "orders-cancel-unpaid": {"task": "orders.tasks.orders_cancel_unpaid_task", "schedule": 60.0},
    "orders-flag-shipping-overdue": {
        "task": "orders.tasks.orders_flag_shipping_overdue_task",
        "schedule": 60.0,
    },
    "orders-flag-logistics-delayed": {
        "task": "orders.tasks.orders_flag_logistics_delayed_task",
        "schedule": 300.0,
    },
    "tickets-open-for-unticketed-exceptions": {
        "task": "tickets.tasks.tickets_open_for_unticketed_exceptions_task",
        "schedule": 60.0,
    },
    # Return timers, and the stuck-payout sweep: a payout whose task was lost (the broker was
    # down at its commit) is queued again a minute after the commit (refunds/timers.py).
    "returns-timers": {
        "task": "refunds.tasks.returns_timers_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "tickets-close-solved": {"task": "tickets.tasks.tickets_close_solved_task", "schedule": 300.0},
    # Complaints left unconfirmed past the confirmation window close as "resolved, unconfirmed".
    "complaints-close-unconfirmed": {
        "task": "complaints.tasks.complaints_close_unconfirmed_task",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Complaint timer breaches whose escalation task was lost (the signal's task runs first).
    "complaints-escalate-missed-breaches": {
        "task": "complaints.tasks.complaints_escalate_missed_breaches_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Surveys: send invitations whose send time has come, expire old links (rows, not countdowns).
    "surveys-sweep": {
        "task": "surveys.tasks.surveys_sweep_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Webhook deliveries whose wake-up after commit was lost (broker down, worker killed), and
    # the retries that have come due.
    "webhooks-send-due": {
        "task": "messaging.tasks.webhook_deliveries_send_task",
        "schedule": WEBHOOKS_SWEEP_SECONDS,
        "options": {"expires": WEBHOOKS_SWEEP_SECONDS - 1},
    },
    # Queued e-mails whose wake-up after commit was lost, and the retries that have come due.
    "emails-send-due": {
        "task": "messaging.tasks.email_messages_send_task",
        "schedule": 20.0,
        "options": {"expires": 19},
    },
    # E-mail in: the mailboxes polled by IMAP (none in the embedded setup unless configured).
    "mailboxes-poll": {
        "task": "messaging.tasks.mailboxes_poll_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Webhook events delivered 30 days ago, or failed 90 days ago, deleted in batches.
    "webhooks-outbox-purge": {
        "task": "messaging.tasks.webhook_outbox_purge_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # Customers inactive beyond the retention period lose their personal data (a batch a run).
    "customers-inactive-erase": {
        "task": "privacy.tasks.customers_inactive_erase_task",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # KPIs: the tickets changed since the last run, every minute; everything again at night.
    "kpis-refresh": {
        "task": "kpis.tasks.kpis_refresh_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "kpis-rebuild": {
        "task": "kpis.tasks.kpis_rebuild_task",
        "schedule": crontab(hour=3, minute=30),
    },
}
