from django.apps import AppConfig


class CsplatformConfig(AppConfig):
    name = "csplatform"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Once the app registry is ready: what is imported here imports models.
        from django.contrib.auth.signals import user_logged_in

        from . import audit  # noqa: F401 - registers the audited configuration models
        from .api import schema  # noqa: F401 - registers the Api-Key scheme with the schema
        from .middleware import session_mark_sign_in

        user_logged_in.connect(session_mark_sign_in, dispatch_uid="csplatform.session_sign_in")
