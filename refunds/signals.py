"""What the refunds app tells the rest of the platform.

``refund_settled_recorded``: ``refund``, a refund the gateway has just paid out. Sent INSIDE
the transaction that records the settlement, for writers whose rows must commit or roll back
with it (the webhook outbox); a receiver writes rows in that transaction and nothing else.
"""

from django.dispatch import Signal

refund_settled_recorded = Signal()
