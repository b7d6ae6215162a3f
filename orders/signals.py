"""What the orders app tells the rest of the platform, after the change committed, except
for ``order_exception_recorded`` (inside the transaction of the change).

Receivers live in the apps that react (the tickets app opens a ticket for an exception); they
must be idempotent, because a receiver may run again after a crash or a retry.
"""

from django.dispatch import Signal

# Sent with ``exception_id`` once an order exception has been raised and committed.
order_exception_raised = Signal()

# ``order_id``, ``old_status``, ``new_status``, ``at``: an order moved in its lifecycle (sent by
# ``order_apply_transition``; surveys send the NPS survey after ``completed``).
order_status_changed = Signal()

# ``exception`` (the ``OrderException`` just written). Sent INSIDE the transaction that raised
# it, for writers whose rows must commit or roll back with it (the webhook outbox); a receiver
# writes rows in that transaction and nothing else.
order_exception_recorded = Signal()
