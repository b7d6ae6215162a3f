"""What the orders app tells the rest of the platform, always after the change committed.

Receivers live in the apps that react (the tickets app opens a ticket for an exception); they
must be idempotent, because a receiver may run again after a crash or a retry.
"""

from django.dispatch import Signal

# Sent with ``exception_id`` once an order exception has been raised and committed.
order_exception_raised = Signal()

# ``order_id``, ``old_status``, ``new_status``, ``at``: an order moved in its lifecycle (sent by
# ``order_apply_transition``; surveys send the NPS survey after ``completed``).
order_status_changed = Signal()
