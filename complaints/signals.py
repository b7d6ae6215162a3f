"""What the complaints app tells the rest of the platform, always after the change committed.

Receivers live in the apps that react (surveys send the complaint-satisfaction survey); they
must be idempotent, because a receiver may run again after a crash or a retry.
"""

from django.dispatch import Signal

# ``complaint_id``, ``at``: a complaint closed (confirmed by the customer, or resolved and
# left unconfirmed past the confirmation window).
complaint_closed = Signal()

# ``complaint``, ``moves``: a complaint moved in its lifecycle. The exception to the rule
# above: sent INSIDE the transaction of the change, after the service's last write of the
# complaint, for writers whose rows must commit or roll back with it (the webhook outbox, the
# customer notices); a receiver writes rows in that transaction and nothing else. ``moves``:
# the ``csplatform.lifecycle.Transition`` of each move, in order, each with its event row.
complaint_updated_recorded = Signal()
