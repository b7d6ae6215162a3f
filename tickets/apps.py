from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from csplatform.erasure import customer_rows_eraser_register


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from . import receivers  # noqa: F401 - connects to the orders app's signals

        customer_rows_eraser_register(self.label)  # its rows of a customer, when erased
