from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from csplatform.erasure import customer_rows_eraser_register


class ComplaintsConfig(AppConfig):
    name = "complaints"
    verbose_name = _("Complaints")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from tickets.panels import ticket_panel_register
        from tickets.signals import sla_breached

        from .panels import POSITION, ticket_complaint_panel
        from .receivers import on_sla_breached

        sla_breached.connect(on_sla_breached, dispatch_uid="complaints.on_sla_breached")
        ticket_panel_register(name="complaint", position=POSITION, panel=ticket_complaint_panel)
        customer_rows_eraser_register(self.label)  # its rows of a customer, when erased
