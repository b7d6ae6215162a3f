from django.core.management.base import BaseCommand

from kpis.rollups import kpis_rebuild


class Command(BaseCommand):
    help = "Re-derive every KPI fact and day rollup from the source tables."

    def handle(self, *args, **options):
        result = kpis_rebuild()
        self.stdout.write(f"{result['tickets']} tickets, {result['days']} days")
