"""How the KPIs react to other apps' events (sent after their commit): by queueing a task."""

from django.dispatch import receiver

from csplatform.enqueue import enqueue
from tickets.signals import sla_clocks_recomputed

from .tasks import kpis_rebuild_task


@receiver(sla_clocks_recomputed, dispatch_uid="kpis.rebuild_on_sla_recompute")
def rebuild_on_sla_recompute(sender, **kwargs):
    # Clocks stopped by a recompute keep the tickets' updated_at, which the minute refresh
    # follows: derive every fact again.

    enqueue(kpis_rebuild_task)
