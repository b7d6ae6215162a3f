from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from csplatform.erasure import customer_rows_eraser_register


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Personal data")

    def ready(self) -> None:
        customer_rows_eraser_register(self.label)  # its rows of a customer, when erased
