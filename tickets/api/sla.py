"""SLA configuration as code: admins read and replace policies and calendars as JSON."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.api.schema import ERROR_RESPONSES
from csplatform.roles import ADMIN, role_of

from ..sla import config


class IsAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        return role_of(request.user) == ADMIN


def _checked(run, data):
    if not isinstance(data, list):
        raise ValidationError({"non_field_errors": ["Send a JSON list."]})
    try:
        return run(data)
    except DjangoValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
        raise ValidationError(detail) from None
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError({"detail": [f"Malformed item: {error}"]}) from None


CalendarSchema = inline_serializer(
    name="SlaCalendar",
    many=True,
    fields={
        "name": serializers.CharField(),
        "timezone": serializers.CharField(),
        "week": serializers.DictField(
            child=serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
        ),
        "holidays": serializers.ListField(child=serializers.DateField()),
        "workdays": serializers.JSONField(
            help_text=(
                "Make-up working days (调休): a list of dates worked with the Monday hours, or "
                'an object mapping each date to its own [["HH:MM", "HH:MM"], ...] intervals '
                "(null: the Monday hours). A date may not also be a holiday."
            ),
            required=False,
        ),
    },
)
PolicySchema = inline_serializer(
    name="SlaPolicy",
    many=True,
    fields={
        "name": serializers.CharField(),
        "active": serializers.BooleanField(),
        "position": serializers.IntegerField(),
        "kinds": serializers.ListField(child=serializers.CharField()),
        "priorities": serializers.ListField(child=serializers.CharField()),
        "channels": serializers.ListField(child=serializers.CharField()),
        "customer_tiers": serializers.ListField(child=serializers.CharField()),
        "teams": serializers.ListField(child=serializers.CharField()),
        "targets": serializers.ListField(child=serializers.DictField()),
        "escalations": serializers.ListField(child=serializers.DictField()),
    },
)


def _recompute_after_commit(**ids) -> None:
    from ..tasks import sla_recompute_task

    transaction.on_commit(lambda: sla_recompute_task.delay(**ids))


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
        with transaction.atomic():
            changed = _checked(config.calendars_replace, request.data)
            _recompute_after_commit(calendar_ids=changed)
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
        with transaction.atomic():
            kept = _checked(config.policies_replace, request.data)
            _recompute_after_commit(policy_ids=kept)
        return Response(config.policies_export())
