from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = _("KPIs")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from . import receivers  # noqa: F401 - connects to the tickets app's signals
