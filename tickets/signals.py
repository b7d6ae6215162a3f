"""What the tickets app tells the rest of the platform, after the change committed, except
for ``ticket_event_recorded`` (inside the transaction of the change).

Receivers live in the apps that react (surveys invite after a solved ticket, complaints
escalate on a breached complaint timer). They must be idempotent: a receiver may run again
after a crash or a retry, and a handler must read the rows it needs rather than trust the
arguments to be current.
"""

from django.dispatch import Signal

# ``ticket_id``, ``old_status``, ``new_status``, ``at``: a ticket moved in its lifecycle
# (a reopen is ``solved`` → ``open``; a merged duplicate goes ``solved`` then ``closed``).
ticket_status_changed = Signal()

# ``ticket_id``, ``ticket_kind``, ``clock_id``, ``metric``, ``at``: an SLA clock of the ticket
# breached (the kind as it was then, so that receivers skip the tickets they don't own).
sla_breached = Signal()

# ``count``: the clocks of every running ticket were recomputed under changed rules (an upgrade
# of the SLA metrics); figures derived from stopped clocks are to be computed again.
sla_clocks_recomputed = Signal()

# ``event`` (the ``TicketEvent`` just written), ``message`` (the ``Message`` a reply, note or
# customer message event records, else ``None``). Sent INSIDE the transaction of the change,
# for the writers whose rows must commit or roll back with it (the webhook outbox): a receiver
# writes rows in that transaction and nothing else (no network, no tasks, no e-mail).
ticket_event_recorded = Signal()
