from celery import shared_task

from kpis.rollups.refresh import kpis_rebuild, kpis_refresh, rollups_vacuum


@shared_task(ignore_result=True)
def kpis_refresh_task() -> dict:
    """Every minute: facts and day rollups of the tickets changed since the last run."""
    return kpis_refresh()


@shared_task(ignore_result=True)
def kpis_rebuild_task() -> dict:
    """Nightly: every fact and day re-derived from the source tables, then the replaced rows
    reclaimed."""
    result = kpis_rebuild()
    rollups_vacuum()
    return result
