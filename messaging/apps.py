from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from csplatform.erasure import customer_rows_eraser_register


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from tickets.deliveries import message_delivery_register

        from . import receivers  # noqa: F401 - connects to the lower apps' signals
        from .desk import message_deliveries_of

        customer_rows_eraser_register(self.label)  # its rows of a customer, when erased
        message_delivery_register(name="messaging", deliveries=message_deliveries_of)
