from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from . import receivers  # noqa: F401 - connects to the lower apps' signals
