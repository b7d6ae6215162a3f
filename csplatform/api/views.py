"""What the API views of every app share."""

from __future__ import annotations

from .permissions import IsStorefront


def validated(serializer_class, request, **kwargs) -> dict:
    """The request body through an input serializer; 400 field by field when it is invalid."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StorefrontCreates:
    """A list endpoint whose ``POST`` only the storefront may call (it files a request, a
    complaint, a ticket); the other methods keep the view's ``permission_classes``."""

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsStorefront()]
        return super().get_permissions()
