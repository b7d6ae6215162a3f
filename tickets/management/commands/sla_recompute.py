from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tickets.models import TicketSettings
from tickets.sla.recompute import sla_recompute_requested


class Command(BaseCommand):
    help = (
        "Resync the SLA clocks of every open ticket and every ticket with a clock still running "
        "under the current policies and rules (what the background recompute after an upgrade "
        "does), in batches; breaches already recorded stay recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Tickets per transaction (default 500)."
        )

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        # Through a request, as the upgrade does: if this run is cut short the periodic task
        # finishes the work, and the KPIs are derived again afterwards.
        TicketSettings.load()
        TicketSettings.objects.filter(pk=1).update(sla_recompute_requested_at=timezone.now())
        count = sla_recompute_requested(batch_size=batch_size)
        self.stdout.write(f"{count} tickets resynced")
