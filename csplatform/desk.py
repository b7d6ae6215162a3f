"""What the desk pages of every app share: who may use them, and how a refused form reads."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.forms import BaseForm
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from .roles import is_desk_user


class SignedInRequest(HttpRequest):
    """A request whose user has signed in (``login_required`` let it through)."""

    user: User


def desk_user(request: HttpRequest) -> User:
    """The signed-in agent, supervisor or admin; anyone else gets a 404."""
    if not is_desk_user(request.user):
        raise Http404
    return request.user


def form_error(form: BaseForm) -> str:
    """The first error of an invalid form, as one line for the panel."""
    for errors in form.errors.values():
        return str(errors[0])
    return _("The request is not valid.")


class FormInvalid(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def form_data(form: BaseForm) -> dict[str, Any]:
    """The cleaned data of a valid form; ``FormInvalid`` with its first error otherwise."""
    if not form.is_valid():
        raise FormInvalid(form_error(form))
    return form.cleaned_data


def htmx_status(code: int) -> int:
    """htmx swaps the answers 403, 409 and 422 (base.html); a 400 would not be shown."""
    return 422 if code == 400 else code
