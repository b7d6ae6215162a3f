"""``/api/v1/returns/``: the storefront files and follows requests, the desk decides them."""

from abc import ABC, abstractmethod

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.actors import Actor
from csplatform.api.pagination import PeekPagination
from csplatform.api.permissions import (
    IsDeskUser,
    IsStorefront,
    IsStorefrontOrDeskUser,
    is_storefront_request,
    request_storefront,
)
from csplatform.api.schema import ERROR_RESPONSES, ErrorSerializer, filterset_parameters
from csplatform.api.views import StorefrontCreates, validated
from csplatform.idempotency import SCHEMA_PARAMETER as IDEMPOTENCY_PARAMETER
from csplatform.idempotency import idempotent
from csplatform.uploads import MAX_PER_RETURN_REQUEST, UploadParser
from orders.models import Order
from refunds import services
from refunds.models import RefundRules, ReturnRequest
from refunds.selectors import return_detail, return_queue, returns_visible_to

from .filters import ReturnQueueFilter
from .serializers import (
    RefundCreatedSerializer,
    RefundCreateInputSerializer,
    ReturnAppealInputSerializer,
    ReturnApproveInputSerializer,
    ReturnCreateInputSerializer,
    ReturnEvidenceInputSerializer,
    ReturnEvidenceSerializer,
    ReturnInspectInputSerializer,
    ReturnListItemSerializer,
    ReturnOutputSerializer,
    ReturnRejectInputSerializer,
    ReturnShipmentInputSerializer,
)

PUBLIC_ID_MAX_LENGTH = ReturnRequest._meta.get_field("public_id").max_length


def _storable(value: str, max_length: int) -> bool:
    # Paths accept any text; the columns do not (PostgreSQL refuses over-long values and NUL).
    return len(value) <= max_length and "\x00" not in value


def _return_for(request, public_id: str) -> ReturnRequest:
    """The request as the principal may see it: a storefront key its storefront's (those of
    its orders), desk users their teams'."""
    if not _storable(public_id, PUBLIC_ID_MAX_LENGTH):
        raise Http404
    if is_storefront_request(request):
        queryset = ReturnRequest.objects.filter(order__storefront=request_storefront(request))
    else:
        queryset = returns_visible_to(request.user)
    found = queryset.filter(public_id=public_id).first()
    if found is None:
        raise Http404
    return found


def _representation(request, public_id: str, code: int = status.HTTP_200_OK) -> Response:
    user = None if is_storefront_request(request) else request.user
    found = return_detail(public_id=public_id, user=user)
    if found is None:  # moved out of the user's teams by what they just did
        found = return_detail(public_id=public_id)
    context = {"staff": user is not None, "appeal_days": RefundRules.load().appeal_days}
    return Response(ReturnOutputSerializer(found, context=context).data, status=code)


class ReturnListCreateApi(StorefrontCreates, APIView):
    """``GET`` the desk's return queue; ``POST`` a request from the storefront."""

    permission_classes = [IsDeskUser]
    pagination_class = PeekPagination  # the list is paged: so says the schema too

    @extend_schema(
        operation_id="returns_list",
        parameters=[*filterset_parameters(ReturnQueueFilter), OpenApiParameter("page", int)],
        responses={200: ReturnListItemSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        filterset = ReturnQueueFilter(request.query_params, queryset=ReturnRequest.objects.none())
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        data = filterset.form.cleaned_data
        requests = return_queue(
            user=request.user,
            statuses=list(data.get("status") or []),
            types=list(data.get("type") or []),
            order_number=data.get("order") or "",
            needs_supervisor=data.get("needs_supervisor") in ("1", "true"),
        )
        paginator = PeekPagination()
        page = paginator.paginate_queryset(requests, request, self)
        return paginator.get_paginated_response(ReturnListItemSerializer(page, many=True).data)

    @extend_schema(
        operation_id="returns_create",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ReturnCreateInputSerializer,
        responses={201: ReturnOutputSerializer, **ERROR_RESPONSES},
    )
    @idempotent
    def post(self, request):
        data = validated(ReturnCreateInputSerializer, request)
        order = Order.objects.filter(
            number=data["order_number"], storefront=request_storefront(request)
        ).first()
        if order is None:
            raise Http404
        created = services.return_request_create(
            order=order,
            type=data["type"],
            reason=data["reason"],
            lines=[(line["sku"], line["quantity"]) for line in data["lines"]],
            amount=data.get("amount"),
            description=data["description"],
            actor=Actor.from_request(request),
        )
        return _representation(request, created.public_id, status.HTTP_201_CREATED)


class ReturnDetailApi(APIView):
    permission_classes = [IsStorefrontOrDeskUser]

    @extend_schema(
        operation_id="returns_retrieve",
        responses={
            200: OpenApiResponse(
                ReturnOutputSerializer,
                description="Status, decision, refunds and the customer's timeline; `staff` is "
                "null for the storefront.",
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, public_id: str):
        return _representation(request, _return_for(request, public_id).public_id)


class _ReturnActionApi(APIView, ABC):
    """A ``POST`` that applies one service to one request and answers with the request."""

    input_serializer = None

    def post(self, request, public_id: str):
        found = _return_for(request, public_id)
        data = validated(self.input_serializer, request) if self.input_serializer else {}
        self.act(request, found, data)
        return _representation(request, found.public_id)

    @abstractmethod
    def act(self, request, found: ReturnRequest, data: dict) -> None:
        """Apply the action's service to the request."""


def _action_schema(operation_id: str, input_serializer=None, description: str = ""):
    return extend_schema(
        operation_id=operation_id,
        description=description,
        request=input_serializer,
        responses={200: ReturnOutputSerializer, **ERROR_RESPONSES},
    )


# --- Storefront actions -----------------------------------------------------------------------


class ReturnCancelApi(_ReturnActionApi):
    permission_classes = [IsStorefront]

    @_action_schema(
        "returns_cancel",
        None,
        "The customer withdraws the request (409 once the "
        "goods are on their way back or a refund was made).",
    )
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_cancel(request=found, actor=Actor.from_request(request))


class ReturnShipmentApi(_ReturnActionApi):
    permission_classes = [IsStorefront]
    input_serializer = ReturnShipmentInputSerializer

    @_action_schema("returns_shipment", ReturnShipmentInputSerializer, "The parcel sent back.")
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_ship_back(
            request=found,
            carrier=data["carrier"],
            tracking_number=data["tracking_number"],
            actor=Actor.from_request(request),
        )


class ReturnAppealApi(_ReturnActionApi):
    permission_classes = [IsStorefront]
    input_serializer = ReturnAppealInputSerializer

    @_action_schema(
        "returns_appeal",
        ReturnAppealInputSerializer,
        "The customer appeals a rejection within the appeal window (422 after it).",
    )
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_appeal(
            request=found, description=data["description"], actor=Actor.from_request(request)
        )


class ReturnEvidenceAddApi(APIView):
    """Evidence files for a request that is not final yet (also for an appeal)."""

    permission_classes = [IsStorefrontOrDeskUser]
    parser_classes = [UploadParser]
    upload_max_count = MAX_PER_RETURN_REQUEST

    @extend_schema(
        operation_id="returns_evidence_create",
        description="multipart/form-data with the files in `files`. Allowed while the request "
        "is requested, approved or awaiting the goods, and after a rejection within the appeal "
        "window (then 422 `appeal_window_closed`); 409 `evidence_closed` otherwise. Answers "
        "with every evidence file of the request.",
        request={"multipart/form-data": ReturnEvidenceInputSerializer},
        responses={
            201: ReturnEvidenceSerializer(many=True),
            **ERROR_RESPONSES,
            415: OpenApiResponse(ErrorSerializer, description="Not multipart/form-data"),
        },
    )
    def post(self, request, public_id: str):
        found = _return_for(request, public_id)
        evidence = services.return_evidence_add(
            request=found,
            files=request.FILES.getlist("files"),
            actor=Actor.from_request(request),
        )
        return Response(
            ReturnEvidenceSerializer(evidence, many=True).data, status=status.HTTP_201_CREATED
        )


# --- Desk actions -----------------------------------------------------------------------------


class ReturnApproveApi(_ReturnActionApi):
    permission_classes = [IsDeskUser]
    input_serializer = ReturnApproveInputSerializer

    @_action_schema(
        "returns_approve",
        ReturnApproveInputSerializer,
        "403 `needs_supervisor` above the supervisor limit (the agent's approval is kept as a "
        "proposal for a supervisor); 403 `four_eyes` when the proposer approves.",
    )
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_approve(request=found, by_user=request.user, reason=data["reason"])


class ReturnRejectApi(_ReturnActionApi):
    permission_classes = [IsDeskUser]
    input_serializer = ReturnRejectInputSerializer

    @_action_schema("returns_reject", ReturnRejectInputSerializer)
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_reject(request=found, by_user=request.user, reason=data["reason"])


class ReturnReceiveApi(_ReturnActionApi):
    permission_classes = [IsDeskUser]

    @_action_schema("returns_receive", None, "The goods are back: the refund is now due.")
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_receive(request=found, by_user=request.user)


class ReturnInspectApi(_ReturnActionApi):
    permission_classes = [IsDeskUser]
    input_serializer = ReturnInspectInputSerializer

    @_action_schema(
        "returns_inspect",
        ReturnInspectInputSerializer,
        "Goods that fail inspection reject the request and go back to the customer.",
    )
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_inspect(
            request=found, by_user=request.user, passed=data["passed"], notes=data["notes"]
        )


class ReturnExchangeApi(_ReturnActionApi):
    permission_classes = [IsDeskUser]

    @_action_schema("returns_exchange", None, "The replacement is sent (exchanges only).")
    def post(self, request, public_id: str):
        return super().post(request, public_id)

    def act(self, request, found, data):
        services.return_request_exchange(request=found, by_user=request.user)


class ReturnRefundApi(APIView):
    permission_classes = [IsDeskUser]

    @extend_schema(
        operation_id="returns_refund",
        description="Refund (part of) the request; paid out after commit, exactly once. 403 "
        "`needs_supervisor` when the request's refunds would exceed the supervisor limit.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=RefundCreateInputSerializer,
        responses={201: RefundCreatedSerializer, **ERROR_RESPONSES},
    )
    @idempotent
    def post(self, request, public_id: str):
        found = _return_for(request, public_id)
        data = validated(RefundCreateInputSerializer, request)
        refund = services.refund_create(request=found, amount=data["amount"], by_user=request.user)
        return Response(RefundCreatedSerializer(refund).data, status=status.HTTP_201_CREATED)
