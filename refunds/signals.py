"""What the refunds app tells the rest of the platform.

Both signals are sent INSIDE the transaction of the change, for writers whose rows must commit
or roll back with it (the webhook outbox, the customer notices); a receiver writes rows in that
transaction and nothing else (no network, no tasks).

``refund_settled_recorded``: ``refund``, a refund the gateway has just paid out.

``return_updated_recorded``: ``request``, a return request that moved in its lifecycle, sent
after the service's last write of it (a receiver reads it as it will commit); ``moves``, the
``csplatform.lifecycle.Transition`` of each move the service made, in order (an approval of
goods coming back is two: ``requested → approved → awaiting_return``), each with its event row.
"""

from django.dispatch import Signal

refund_settled_recorded = Signal()

return_updated_recorded = Signal()
