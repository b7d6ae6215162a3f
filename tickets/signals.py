"""What the tickets app tells the rest of the platform, always after the change committed.

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
