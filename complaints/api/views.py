"""``/api/v1/complaints/``: the storefront files complaints, follows their progress and
confirms the outcome; the desk works the queue and changes them.

A storefront key (acting for all its storefront's customers) sees its storefront's
complaints, as with tickets and returns; a desk user sees the complaints whose ticket is in
their teams; any other is a 404 exactly like one that does not exist.
"""

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints import services
from complaints.choices import ComplaintStatus, EscalationLevel, Severity
from complaints.models import Complaint
from complaints.selectors import complaint_detail, complaint_queue, complaints_visible_to
from csplatform.actors import Actor
from csplatform.api.pagination import PeekPagination
from csplatform.api.permissions import (
    IsDeskUser,
    IsStorefront,
    IsStorefrontOrDeskUser,
    is_storefront_request,
    request_storefront,
)
from csplatform.api.schema import ERROR_RESPONSES
from csplatform.api.views import StorefrontCreates, validated
from csplatform.idempotency import SCHEMA_PARAMETER as IDEMPOTENCY_PARAMETER
from csplatform.idempotency import idempotent
from orders.services import customer_and_order_for_request

from .serializers import (
    AgentComplaintListSerializer,
    AgentComplaintSerializer,
    ComplaintConfirmInputSerializer,
    ComplaintCreatedSerializer,
    ComplaintCreateInputSerializer,
    ComplaintPatchInputSerializer,
    ComplaintPublicSerializer,
)

NUMBER_MAX_LENGTH = Complaint._meta.get_field("number").max_length


def _complaint_for(request, number: str) -> Complaint:
    if len(number) > NUMBER_MAX_LENGTH or "\x00" in number:
        raise Http404
    if is_storefront_request(request):
        queryset = Complaint.objects.of_storefront(request_storefront(request))
    else:
        queryset = complaints_visible_to(request.user)
    found = queryset.filter(number=number).first()
    if found is None:
        raise Http404
    return found


def _representation(request, number: str, code: int = status.HTTP_200_OK) -> Response:
    if is_storefront_request(request):
        return Response(ComplaintPublicSerializer(complaint_detail(number=number)).data, code)
    found = complaint_detail(number=number, user=request.user)
    if found is None:  # moved out of the user's teams by what they just did
        found = complaint_detail(number=number)
    return Response(AgentComplaintSerializer(found).data, status=code)


class ComplaintListCreateApi(StorefrontCreates, APIView):
    """``GET`` the desk's complaint queue; ``POST`` a complaint from the storefront."""

    permission_classes = [IsDeskUser]
    pagination_class = PeekPagination  # the list is paged: so says the schema too

    @extend_schema(
        operation_id="complaints_list",
        description="Gravest first (severity, escalation level), then the nearest due time; "
        "supervisors get the escalated complaints of their teams first. Open complaints "
        "unless `status` is given.",
        parameters=[
            OpenApiParameter(
                "status", str, many=True, enum=[s.value for s in ComplaintStatus], explode=True
            ),
            OpenApiParameter(
                "severity", str, many=True, enum=[s.value for s in Severity], explode=True
            ),
            OpenApiParameter(
                "escalation_level",
                int,
                many=True,
                enum=[level.value for level in EscalationLevel],
                explode=True,
            ),
            OpenApiParameter("page", int),
        ],
        responses={200: AgentComplaintListSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        params = request.query_params
        errors = {}
        statuses = params.getlist("status")
        if any(s not in ComplaintStatus.values for s in statuses):
            errors["status"] = ["Unknown status."]
        severities = params.getlist("severity")
        if any(s not in Severity.values for s in severities):
            errors["severity"] = ["Unknown severity."]
        levels = params.getlist("escalation_level")
        if any(value not in {str(v) for v in EscalationLevel.values} for value in levels):
            errors["escalation_level"] = ["A level from 1 to 4."]
        if errors:
            raise ValidationError(errors)
        complaints = complaint_queue(
            user=request.user,
            statuses=statuses,
            severities=severities,
            levels=[int(v) for v in levels],
        )
        paginator = PeekPagination()
        page = paginator.paginate_queryset(complaints, request, self)
        return paginator.get_paginated_response(AgentComplaintListSerializer(page, many=True).data)

    @extend_schema(
        operation_id="complaints_create",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ComplaintCreateInputSerializer,
        responses={201: ComplaintCreatedSerializer, **ERROR_RESPONSES},
    )
    @idempotent
    def post(self, request):
        data = validated(ComplaintCreateInputSerializer, request)
        with transaction.atomic():
            customer, order = customer_and_order_for_request(
                storefront=request_storefront(request),
                customer=data["customer"],
                order_number=data.get("order_number"),
            )
            complaint = services.complaint_create(
                customer=customer,
                order=order,
                category=data["category"],
                channel=data["channel"],
                description=data["description"],
                actor=Actor.from_request(request),
            )
        return Response(ComplaintCreatedSerializer(complaint).data, status=status.HTTP_201_CREATED)


class ComplaintDetailApi(APIView):
    permission_classes = [IsStorefrontOrDeskUser]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsDeskUser()]
        return super().get_permissions()

    @extend_schema(
        operation_id="complaints_retrieve",
        responses={
            200: OpenApiResponse(
                ComplaintPublicSerializer,
                description="The storefront gets the customer's view (progress, plan, remedy, "
                "confirmation); desk users get the full complaint with its internal fields.",
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, number: str):
        return _representation(request, _complaint_for(request, number).number)

    @extend_schema(
        operation_id="complaints_partial_update",
        description="Category, severity, escalation level (with a reason), investigation "
        "notes and findings, the plan, the remedy and the status, all or nothing. 409 for a "
        "status the lifecycle does not allow from the current one.",
        request=ComplaintPatchInputSerializer,
        responses={200: AgentComplaintSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, number: str):
        found = _complaint_for(request, number)
        data = validated(ComplaintPatchInputSerializer, request)
        services.complaint_update(
            complaint=found,
            by_user=request.user,
            category=data.get("category"),
            severity=data.get("severity"),
            escalation_level=data.get("escalation_level"),
            escalation_reason=data.get("escalation_reason", ""),
            note=data.get("note", ""),
            root_cause=data.get("root_cause"),
            responsible_party=data.get("responsible_party"),
            plan=data.get("plan"),
            remedy_type=data.get("remedy_type"),
            remedy_amount=data.get("remedy_amount"),
            remedy_note=data.get("remedy_note", ""),
            status=data.get("status"),
        )
        return _representation(request, found.number)


class ComplaintConfirmApi(APIView):
    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="complaints_confirm",
        description="The customer's answer to the outcome. 409 when the complaint is not "
        "waiting for it; 422 when a closed complaint is past its reopen window.",
        request=ComplaintConfirmInputSerializer,
        responses={200: ComplaintPublicSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, number: str):
        found = _complaint_for(request, number)
        data = validated(ComplaintConfirmInputSerializer, request)
        services.complaint_confirm(
            complaint=found,
            accepted=data["accepted"],
            comment=data["comment"],
            actor=Actor.from_request(request),
        )
        return _representation(request, found.number)
