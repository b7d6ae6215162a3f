from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.actors import Actor
from csplatform.api.permissions import IsStorefront, IsStorefrontOrDeskUser, request_storefront
from csplatform.api.schema import ERROR_RESPONSES
from orders import services
from orders.models import Order

from .serializers import (
    OrderEventInputSerializer,
    OrderEventRecordedSerializer,
    OrderOutputSerializer,
    OrderPutInputSerializer,
)

NUMBER_MAX_LENGTH = Order._meta.get_field("number").max_length


def _number_is_storable(number: str) -> bool:
    # The path accepts any text; the column does not (PostgreSQL refuses over-long values and NUL).
    return len(number) <= NUMBER_MAX_LENGTH and "\x00" not in number


def _orders_for(request):
    """The orders the principal may see: a storefront key its storefront's, a desk user any."""
    storefront = request_storefront(request)
    if storefront is None:
        return Order.objects.all()
    return Order.objects.filter(storefront=storefront)


def _order_response(number: str, code: int) -> Response:
    order = Order.objects.with_related().get(number=number)
    return Response(OrderOutputSerializer(order).data, status=code)


class OrderApi(APIView):
    """``GET`` / ``PUT /api/v1/orders/{number}/``."""

    def get_permissions(self):
        if self.request.method == "PUT":
            return [IsStorefront()]
        return [IsStorefrontOrDeskUser()]

    @extend_schema(
        operation_id="orders_retrieve",
        responses={200: OrderOutputSerializer, **ERROR_RESPONSES},
    )
    def get(self, request, number: str):
        if not _number_is_storable(number):
            raise Http404
        order = get_object_or_404(_orders_for(request).with_related(), number=number)
        return Response(OrderOutputSerializer(order).data)

    @extend_schema(
        operation_id="orders_put",
        request=OrderPutInputSerializer,
        responses={
            200: OpenApiResponse(OrderOutputSerializer, description="Replaced"),
            201: OpenApiResponse(OrderOutputSerializer, description="Created"),
            **ERROR_RESPONSES,
        },
    )
    def put(self, request, number: str):
        if not _number_is_storable(number):
            raise serializers.ValidationError(
                {"number": [f"At most {NUMBER_MAX_LENGTH} characters, no NUL."]}
            )
        serializer = OrderPutInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            _, created = self._upsert(request, number, serializer.validated_data)
        except Order.DoesNotExist:  # another storefront's: as if there were no such order
            raise Http404 from None
        return _order_response(number, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def _upsert(self, request, number: str, data: dict) -> tuple[Order, bool]:
        return services.order_upsert(
            storefront=request_storefront(request),
            number=number,
            customer=dict(data["customer"]),
            channel=data["channel"],
            currency=data["currency"],
            lines=[services.LineInput(**line) for line in data["lines"]],
            shipping_fee=data["shipping_fee"],
            discount=data["discount"],
            total=data["total"],
            status=data["status"],
            placed_at=data["placed_at"],
            shipping_address=dict(data["shipping_address"]),
            actor=Actor.from_request(request),
        )


class OrderEventCreateApi(APIView):
    """``POST /api/v1/orders/{number}/events/``."""

    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="orders_events_create",
        request=OrderEventInputSerializer,
        responses={
            200: OpenApiResponse(OrderEventRecordedSerializer, description="Replay acknowledged"),
            201: OpenApiResponse(OrderEventRecordedSerializer, description="Recorded"),
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, number: str):
        if not _number_is_storable(number):
            raise Http404
        storefront = request_storefront(request)
        get_object_or_404(Order.objects.only("id"), number=number, storefront=storefront)
        serializer = OrderEventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            event, created = services.order_event_record(
                number=number,
                type=serializer.validated_data["type"],
                at=serializer.validated_data["at"],
                payload=serializer.payload(),
                actor=Actor.from_request(request),
                storefront=storefront,
            )
        except Order.DoesNotExist:
            raise Http404 from None
        return Response(
            OrderEventRecordedSerializer(event).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
