"""The SLA configuration's lock, shared by its writes (``config``) and the clock recompute
(``recompute``), which is why it lives apart from both (see ``config`` for why it exists)."""

from __future__ import annotations

from csplatform.locks import advisory_xact_lock

# The advisory lock's key is derived from this name: it must not change while it is held.
SLA_CONFIG_LOCK = "tickets.sla.config"


def sla_config_lock(*, shared: bool = False) -> None:
    """Hold the SLA configuration until the transaction ends: exclusively to write policies
    or calendars, shared to count clocks with them (the recompute). The first lock of its
    transaction (``csplatform.locks``)."""
    advisory_xact_lock(SLA_CONFIG_LOCK, shared=shared)
