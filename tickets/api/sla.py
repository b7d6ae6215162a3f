"""SLA configuration as code: admins read and replace policies and calendars as JSON."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.api.schema import ERROR_RESPONSES
from csplatform.api.strict import StrictSerializer
from csplatform.locks import retry_on_deadlock
from csplatform.roles import ADMIN, role_of
from orders.choices import Channel, CustomerTier
from tickets.choices import Priority, SlaMetric, TicketKind, TicketStatus
from tickets.models import EscalationAction
from tickets.sla import config
from tickets.sla.recompute import sla_recompute_after_commit


class IsAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        return role_of(request.user) == ADMIN


# Bounds of what a configuration may hold: generous for any real shop, small enough that no
# value overflows a column or a loop.
MAX_MINUTES = 366 * 24 * 60  # a target of a year at most
MAX_POSITION = 1_000_000
MAX_POLICIES = MAX_CALENDARS = 200
NAME_LENGTH = 100


class SlaTargetInputSerializer(StrictSerializer):
    metric = serializers.ChoiceField(choices=SlaMetric.choices)
    minutes = serializers.IntegerField(min_value=1, max_value=MAX_MINUTES)
    calendar = serializers.CharField(
        max_length=NAME_LENGTH, allow_null=True, required=False, help_text="A calendar's name."
    )
    warning_percent = serializers.IntegerField(min_value=1, max_value=99, default=80)
    pausing_statuses = serializers.ListField(
        child=serializers.ChoiceField(choices=TicketStatus.values), default=list, max_length=6
    )
    hold_notifications_outside_hours = serializers.BooleanField(default=False)


class SlaEscalationInputSerializer(StrictSerializer):
    metric = serializers.ChoiceField(choices=SlaMetric.choices)
    minutes_after_breach = serializers.IntegerField(min_value=0, max_value=MAX_MINUTES, default=0)
    action = serializers.ChoiceField(choices=EscalationAction.choices)
    user = serializers.CharField(max_length=150, allow_null=True, required=False)
    team = serializers.CharField(max_length=NAME_LENGTH, allow_null=True, required=False)


class SlaPolicyInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_LENGTH)
    active = serializers.BooleanField(default=True)
    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, default=100)
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=TicketKind.values), default=list, max_length=10
    )
    priorities = serializers.ListField(
        child=serializers.ChoiceField(choices=Priority.values), default=list, max_length=10
    )
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Channel.values), default=list, max_length=20
    )
    customer_tiers = serializers.ListField(
        child=serializers.ChoiceField(choices=CustomerTier.values), default=list, max_length=10
    )
    teams = serializers.ListField(
        child=serializers.CharField(max_length=NAME_LENGTH), default=list, max_length=200
    )
    targets = serializers.ListField(
        child=SlaTargetInputSerializer(), default=list, max_length=len(config.METRICS)
    )
    escalations = serializers.ListField(
        child=SlaEscalationInputSerializer(), default=list, max_length=50
    )


class SlaCalendarInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=NAME_LENGTH)
    timezone = serializers.CharField(max_length=64)
    week = serializers.DictField(
        child=serializers.ListField(
            child=serializers.ListField(
                child=serializers.CharField(max_length=5), min_length=2, max_length=2
            ),
            max_length=24,
        ),
        help_text='Per weekday (mon … sun), [["HH:MM", "HH:MM"], ...] open intervals.',
    )
    holidays = serializers.ListField(child=serializers.DateField(), default=list, max_length=1000)
    workdays = serializers.JSONField(
        help_text=(
            "Make-up working days (调休): a list of dates worked with the Monday hours, or "
            'an object mapping each date to its own [["HH:MM", "HH:MM"], ...] intervals '
            "(null: the Monday hours). A date may not also be a holiday."
        ),
        required=False,
    )


def _messages(errors) -> list[str]:
    """Every message in a nested DRF error structure, flattened."""
    if isinstance(errors, dict):
        return [m for key, value in errors.items() for m in _prefixed(key, value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)]


def _prefixed(key, value) -> list[str]:
    inner = _messages(value)
    return inner if key in ("non_field_errors", "detail") else [f"{key}: {m}" for m in inner]


def _name_of(item, index: int) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else f"[{index}]"


def _policy_errors(data: list, errors: list) -> dict:
    """The serializer's errors keyed as the rules' errors are: ``Policy.metric`` for a target,
    ``Policy.field`` for the rest, ``[index]`` for an item that is no policy at all."""
    keyed: dict[str, list[str]] = {}
    for index, (item, error) in enumerate(zip(data, errors, strict=False)):
        if not error:
            continue
        name = _name_of(item, index)
        if not isinstance(error, dict):
            keyed.setdefault(f"[{index}]", []).extend(_messages(error))
            continue
        for field, detail in error.items():
            if field == "targets" and isinstance(detail, dict):
                targets = item.get("targets") if isinstance(item.get("targets"), list) else []
                for position, target_error in detail.items():
                    target = targets[int(position)] if int(position) < len(targets) else {}
                    metric = target.get("metric") if isinstance(target, dict) else None
                    where = f"{name}.{metric}" if isinstance(metric, str) else f"{name}.targets"
                    keyed.setdefault(where, []).extend(_messages(target_error))
            else:
                keyed.setdefault(f"{name}.{field}", []).extend(_messages(detail))
    return keyed


def _calendar_errors(data: list, errors: list) -> dict:
    """The serializer's errors keyed as the rules' errors are: ``[index] Calendar``."""
    keyed = {}
    for index, (item, error) in enumerate(zip(data, errors, strict=False)):
        if error:
            name = _name_of(item, index)
            keyed[name if name == f"[{index}]" else f"[{index}] {name}"] = _messages(error)
    return keyed


def _validated(serializer_class, data, keyed, limit: int) -> list[dict]:
    """The request's list read by ``serializer_class``, all of it or a 400 naming each item."""
    if not isinstance(data, list):
        raise ValidationError({"non_field_errors": ["Send a JSON list."]})
    if len(data) > limit:
        raise ValidationError({"non_field_errors": [f"Send at most {limit} items."]})
    serializer = serializer_class(data=data, many=True)
    if not serializer.is_valid():
        errors = serializer.errors
        if isinstance(errors, dict) and all(isinstance(key, int) for key in errors):
            errors = [errors.get(index) for index in range(len(data))]  # by item index
        if isinstance(errors, dict):  # the list itself (not its items) was refused
            raise ValidationError({"non_field_errors": _messages(errors)})
        raise ValidationError(keyed(data, errors))
    return serializer.validated_data


def _checked(run, items):
    try:
        return run(items)
    except DjangoValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
        raise ValidationError(detail) from None
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError({"detail": [f"Malformed item: {error}"]}) from None


CalendarSchema = SlaCalendarInputSerializer(many=True)
PolicySchema = SlaPolicyInputSerializer(many=True)


@retry_on_deadlock
def _replace(replace, items: list[dict], recompute: str) -> None:
    """Write the checked configuration and, once committed, recompute the tickets it governs:
    one transaction, run again if it loses a deadlock."""
    with transaction.atomic():
        changed = _checked(replace, items)
        sla_recompute_after_commit(**{recompute: changed})


class SlaCalendarsApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="sla_calendars_list", responses={200: CalendarSchema})
    def get(self, request):
        return Response(config.calendars_export())

    @extend_schema(
        operation_id="sla_calendars_replace",
        request=CalendarSchema,
        responses={200: CalendarSchema, **ERROR_RESPONSES},
    )
    def put(self, request):
        items = _validated(
            SlaCalendarInputSerializer, request.data, _calendar_errors, MAX_CALENDARS
        )
        _replace(config.calendars_replace, items, "calendar_ids")
        return Response(config.calendars_export())


class SlaPoliciesApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(operation_id="sla_policies_list", responses={200: PolicySchema})
    def get(self, request):
        return Response(config.policies_export())

    @extend_schema(
        operation_id="sla_policies_replace",
        request=PolicySchema,
        responses={200: PolicySchema, **ERROR_RESPONSES},
    )
    def put(self, request):
        items = _validated(SlaPolicyInputSerializer, request.data, _policy_errors, MAX_POLICIES)
        _replace(config.policies_replace, items, "policy_ids")
        return Response(config.policies_export())
