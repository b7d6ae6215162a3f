from celery import shared_task

from . import services


@shared_task
def customers_inactive_erase_task() -> int:
    """Erase the personal data of customers inactive beyond the retention period."""
    return len(services.customers_inactive_erase())


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def stored_files_delete_task(files: list[list[str]]) -> int:
    """Delete from storage the uploads an erasure unlinked: ``[model, field, name]`` each."""
    return services.stored_files_delete(files=files)
