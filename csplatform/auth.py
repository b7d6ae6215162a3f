"""Authentication backend that keeps demo accounts out where settings forbid them."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, User

from .roles import DEMO_GROUP


class DemoAwareModelBackend(ModelBackend):
    """The model backend, refusing members of the demo group unless demo accounts are allowed."""

    def user_can_authenticate(self, user: User | AnonymousUser | None) -> bool:
        if not super().user_can_authenticate(user):
            return False
        if settings.DEMO_ACCOUNTS_ALLOWED:
            return True
        return user is not None and not user.groups.filter(name=DEMO_GROUP).exists()
