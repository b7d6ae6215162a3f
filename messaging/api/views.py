"""``/api/v1/webhooks/``: a storefront's webhook endpoints and their deliveries (its own only;
another storefront's endpoint is a 404, as if it did not exist)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.api.pagination import PeekPagination
from csplatform.api.permissions import IsStorefront, request_storefront
from csplatform.api.schema import ERROR_RESPONSES
from csplatform.api.views import validated
from messaging import services
from messaging.models import WebhookDelivery, WebhookEndpoint

from .serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointPatchInputSerializer,
    WebhookEndpointSerializer,
    WebhookSecretRotatedSerializer,
)


def _endpoints_of(request):
    return WebhookEndpoint.objects.filter(storefront=request_storefront(request))


def _endpoint(request, webhook_id: int) -> WebhookEndpoint:
    return get_object_or_404(_endpoints_of(request), pk=webhook_id)


class WebhookListCreateApi(APIView):
    """``GET`` the storefront's webhook endpoints; ``POST`` a new one."""

    permission_classes = [IsStorefront]
    pagination_class = PeekPagination  # the list is paged: so says the schema too

    @extend_schema(
        operation_id="webhooks_list",
        parameters=[OpenApiParameter("page", int)],
        responses={200: WebhookEndpointSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        paginator = PeekPagination()
        page = paginator.paginate_queryset(_endpoints_of(request).order_by("id"), request, self)
        return paginator.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        description="The response carries the signing `secret`: it is shown only this once. "
        "Outside development the URL must be https and resolve to public addresses only.",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        data = validated(WebhookEndpointInputSerializer, request)
        endpoint, secret = services.webhook_endpoint_create(
            storefront=request_storefront(request), **data
        )
        endpoint.secret = secret
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookApi(APIView):
    """``GET`` / ``PATCH`` / ``DELETE /api/v1/webhooks/{id}/``."""

    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="webhooks_retrieve",
        responses={200: WebhookEndpointSerializer, **ERROR_RESPONSES},
    )
    def get(self, request, webhook_id: int):
        return Response(WebhookEndpointSerializer(_endpoint(request, webhook_id)).data)

    @extend_schema(
        operation_id="webhooks_partial_update",
        description="Setting `active` to false stops the pending deliveries (status `dead`); "
        "setting it to true again starts the failure count afresh.",
        request=WebhookEndpointPatchInputSerializer,
        responses={200: WebhookEndpointSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, webhook_id: int):
        endpoint = _endpoint(request, webhook_id)
        data = validated(WebhookEndpointPatchInputSerializer, request)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        responses={204: OpenApiResponse(description="Deleted"), **ERROR_RESPONSES},
    )
    def delete(self, request, webhook_id: int):
        services.webhook_endpoint_delete(endpoint=_endpoint(request, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretRotateApi(APIView):
    """``POST /api/v1/webhooks/{id}/rotate-secret/``."""

    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        description="A new signing secret, shown only in this response. For 24 hours the "
        "`Webhook-Signature` header carries two signatures, by the new and the previous secret.",
        request=None,
        responses={200: WebhookSecretRotatedSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, webhook_id: int):
        endpoint, secret = services.webhook_secret_rotate(endpoint=_endpoint(request, webhook_id))
        return Response(
            WebhookSecretRotatedSerializer(
                {
                    "secret": secret,
                    "previous_secret_expires_at": endpoint.previous_secret_expires_at,
                }
            ).data
        )


class WebhookDeliveryListApi(APIView):
    """``GET /api/v1/webhooks/{id}/deliveries/``: the newest first."""

    permission_classes = [IsStorefront]
    pagination_class = PeekPagination

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=[OpenApiParameter("page", int)],
        responses={200: WebhookDeliverySerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request, webhook_id: int):
        endpoint = _endpoint(request, webhook_id)
        deliveries = endpoint.deliveries.select_related("event").order_by("-id")
        paginator = PeekPagination()
        page = paginator.paginate_queryset(deliveries, request, self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)


class WebhookDeliveryRetryApi(APIView):
    """``POST /api/v1/webhooks/{id}/deliveries/{delivery}/retry/``: send it again."""

    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="webhooks_deliveries_retry",
        description="The delivery is due again at once and retried for 24 hours; its event "
        "keeps its id (`Webhook-Id`). 409 while the endpoint is disabled.",
        request=None,
        responses={200: WebhookDeliverySerializer, **ERROR_RESPONSES},
    )
    def post(self, request, webhook_id: int, delivery_id: int):
        endpoint = _endpoint(request, webhook_id)
        delivery = get_object_or_404(
            WebhookDelivery.objects.select_related("event"), endpoint=endpoint, pk=delivery_id
        )
        delivery = services.webhook_delivery_resend(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data)
