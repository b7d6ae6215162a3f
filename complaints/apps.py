from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from tickets.signals import sla_breached

        from .receivers import on_sla_breached

        sla_breached.connect(on_sla_breached, dispatch_uid="complaints.on_sla_breached")
