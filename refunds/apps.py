from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from csplatform.erasure import customer_rows_eraser_register


class RefundsConfig(AppConfig):
    name = "refunds"
    verbose_name = _("Returns and refunds")

    def ready(self) -> None:
        from tickets.panels import ticket_panel_register
        from tickets.remedies import REFUND, remedy_executor_register

        from .panels import POSITION, ticket_return_panel
        from .remedies import refund_remedy_execute

        ticket_panel_register(name="return", position=POSITION, panel=ticket_return_panel)
        remedy_executor_register(kind=REFUND, executor=refund_remedy_execute)
        customer_rows_eraser_register(self.label)  # its rows of a customer, when erased
