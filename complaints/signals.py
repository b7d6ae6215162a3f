"""What the complaints app tells the rest of the platform, always after the change committed.

Receivers live in the apps that react (surveys send the complaint-satisfaction survey); they
must be idempotent, because a receiver may run again after a crash or a retry.
"""

from django.dispatch import Signal

# ``complaint_id``, ``at``: a complaint closed (confirmed by the customer, or resolved and
# left unconfirmed past the confirmation window).
complaint_closed = Signal()
