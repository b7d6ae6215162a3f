"""Customer notice templates: the variables each notice offers and the check and rendering of
a subject or body under the limits the admin enforces (Django's template engine with no loaders,
only ``{% if %}``/``{% comment %}`` among the tags, a few text filters, plain-string variables).
Pure: no model is read here, so the model's validation and the sending both use it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import FilterExpression, Node, TextNode, VariableNode
from django.template.defaulttags import CommentNode, IfNode
from django.utils import translation
from django.utils.translation import gettext as _

from .choices import NoticeType

T = NoticeType
_EVERY_NOTICE = ("customer.name", "order.number", "ticket.number")
_RETURN = (*_EVERY_NOTICE, "return.number", "amount")
_COMPLAINT = (*_EVERY_NOTICE, "complaint.number")

# The variables each notice offers; a value the case lacks (an order number of a complaint
# filed without an order) renders empty.
NOTICE_VARIABLES: dict[str, tuple[str, ...]] = {
    T.ORDER_EXCEPTION_OPENED: (*_EVERY_NOTICE, "reason"),
    T.RETURN_APPROVED: (*_RETURN, "reason"),
    T.RETURN_REJECTED: (*_RETURN, "reason"),
    T.RETURN_REFUNDED: _RETURN,
    T.COMPLAINT_ACCEPTED: _COMPLAINT,
    T.COMPLAINT_PLAN_PROPOSED: (*_COMPLAINT, "plan"),
    T.COMPLAINT_AWAITING_CONFIRMATION: (*_COMPLAINT, "plan"),
    T.TICKET_SOLVED: _EVERY_NOTICE,
}
ALLOWED_FILTERS = frozenset({"default", "upper", "lower", "title", "capfirst", "truncatechars"})
ALLOWED_TAGS = "{% if %} {% elif %} {% else %} {% endif %} {% comment %}"

# A bare engine: no template loaders (no {% include %} of files), nothing escaped (notices are
# plain text; the HTML e-mail escapes the rendered text), a missing value renders empty.
_ENGINE = Engine(loaders=[], autoescape=False, string_if_invalid="")


class NoticeTemplateError(Exception):
    """A template that may not render: bad syntax, a tag or a variable it may not use."""


# --- Checking and rendering ---------------------------------------------------------------------


def _expressions(node: object) -> Iterator[FilterExpression]:
    """The filter expressions of an ``{% if %}`` condition (a literal or an operator)."""
    value = getattr(node, "value", None)
    if isinstance(value, FilterExpression):
        yield value
    for side in ("first", "second"):
        child = getattr(node, side, None)
        if child is not None:
            yield from _expressions(child)


def _expression_check(expression: FilterExpression, allowed: tuple[str, ...]) -> None:
    lookups = getattr(expression.var, "lookups", None)
    if lookups is not None:  # not a literal
        name = ".".join(lookups)
        if name not in allowed:
            raise NoticeTemplateError(
                _("Unknown variable “%(name)s”. This notice offers: %(allowed)s.")
                % {"name": name, "allowed": ", ".join(allowed)}
            )
    for function, _args in expression.filters:
        if function.__name__.removesuffix("_filter") not in ALLOWED_FILTERS:
            raise NoticeTemplateError(
                _("The filter “%(name)s” is not allowed. Allowed filters: %(allowed)s.")
                % {
                    "name": function.__name__.removesuffix("_filter"),
                    "allowed": ", ".join(sorted(ALLOWED_FILTERS)),
                }
            )


def _nodes_check(nodes: list[Node], allowed: tuple[str, ...]) -> None:
    for node in nodes:
        if isinstance(node, (TextNode, CommentNode)):
            continue
        if isinstance(node, VariableNode):
            _expression_check(node.filter_expression, allowed)
        elif isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                if condition is not None:
                    for expression in _expressions(condition):
                        _expression_check(expression, allowed)
                _nodes_check(list(branch), allowed)
        else:
            token = getattr(node, "token", None)
            tag = token.split_contents()[0] if token is not None else type(node).__name__
            raise NoticeTemplateError(
                _("The tag “%(tag)s” is not allowed. Allowed tags: %(allowed)s.")
                % {"tag": tag, "allowed": ALLOWED_TAGS}
            )


def _compiled(source: str, notice_type: str) -> Template:
    allowed = NOTICE_VARIABLES.get(notice_type, _EVERY_NOTICE)
    try:
        template = _ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        raise NoticeTemplateError(
            _("The template does not compile: %(error)s") % {"error": error}
        ) from None
    _nodes_check(list(template.nodelist), allowed)
    return template


def template_check(*, notice_type: str, subject: str, body: str) -> None:
    """Refuse, field by field, a subject or body that may not render (``ValidationError``)."""
    errors: dict[str, str] = {}
    for name, source in (("subject", subject), ("body", body)):
        try:
            _compiled(source or "", notice_type)
        except NoticeTemplateError as refused:
            errors[name] = str(refused)
    if errors:
        raise ValidationError(errors)


def _context(values: Mapping[str, object]) -> dict[str, Any]:
    """``{"order.number": "SO-1"}`` → ``{"order": {"number": "SO-1"}}``, values as text."""
    context: dict[str, Any] = {}
    for name, value in values.items():
        *parents, leaf = name.split(".")
        level = context
        for parent in parents:
            level = level.setdefault(parent, {})
        level[leaf] = "" if value is None else str(value)
    return context


def template_render(
    *, notice_type: str, language: str, subject: str, body: str, values: Mapping[str, object]
) -> tuple[str, str]:
    """The subject (one line) and body with ``values``, in ``language`` (labels among the values
    are translated into it). ``NoticeTemplateError`` when a template may not render."""
    with translation.override(language):
        context = Context(_context(values), autoescape=False)
        rendered_subject = _compiled(subject, notice_type).render(context)
        rendered_body = _compiled(body, notice_type).render(context)
    return " ".join(rendered_subject.split())[:250], rendered_body.strip()
