from celery import shared_task

from . import services


@shared_task
def customers_inactive_erase_task() -> int:
    """Erase the personal data of customers inactive beyond the retention period."""
    return len(services.customers_inactive_erase())
