"""What the API views of every app share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from .permissions import IsStorefront

if TYPE_CHECKING:
    from rest_framework.views import APIView

    _View = APIView
else:
    _View = object  # a mixin: the view class it is mixed into comes after it


class Permission(Protocol):
    """What DRF asks of each of a view's permissions."""

    def has_permission(self, request: Request, view: APIView) -> bool: ...

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool: ...


def validated(serializer_class: type[BaseSerializer[Any]], request: Request, **kwargs: Any) -> Any:
    """The request body through an input serializer; 400 field by field when it is invalid."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class StorefrontCreates(_View):
    """A list endpoint whose ``POST`` only the storefront may call (it files a request, a
    complaint, a ticket); the other methods keep the view's ``permission_classes``."""

    def get_permissions(self) -> Sequence[Permission]:
        if self.request.method == "POST":
            return [IsStorefront()]
        return super().get_permissions()
