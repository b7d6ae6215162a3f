from django.apps import AppConfig


class CsplatformConfig(AppConfig):
    name = "csplatform"
    verbose_name = "Platform"

    def ready(self) -> None:
        from .api import schema  # noqa: F401 - registers the Api-Key scheme with the schema
