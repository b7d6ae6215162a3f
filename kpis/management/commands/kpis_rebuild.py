from django.core.management.base import BaseCommand

from kpis.rollups.refresh import kpis_rebuild, rollups_vacuum


class Command(BaseCommand):
    help = "Re-derive every KPI fact and day rollup from the source tables."

    def handle(self, *args, **options):
        result = kpis_rebuild()
        vacuumed = rollups_vacuum()
        self.stdout.write(
            f"{result['tickets']} tickets, {result['days']} days; {len(vacuumed)} tables vacuumed"
        )
