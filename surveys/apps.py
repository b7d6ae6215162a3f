from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from csplatform.erasure import customer_rows_eraser_register


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from . import receivers  # noqa: F401 - connects to the tickets, orders and complaints signals
        from .redaction import redaction_install

        redaction_install()
        customer_rows_eraser_register(self.label)  # its rows of a customer, when erased
