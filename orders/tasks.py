"""Thin Celery tasks: each calls one service with the current time."""

from celery import shared_task

from . import services


@shared_task
def orders_cancel_unpaid_task() -> int:
    return services.orders_cancel_unpaid()


@shared_task
def orders_flag_shipping_overdue_task() -> int:
    return services.orders_flag_shipping_overdue()


@shared_task
def orders_flag_logistics_delayed_task() -> int:
    return services.orders_flag_logistics_delayed()
