from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.actors import Actor
from csplatform.api.permissions import IsStorefront, request_storefront
from csplatform.api.schema import ERROR_RESPONSES
from orders.models import Customer
from privacy import services

from .serializers import ErasureInputSerializer, ErasureOutputSerializer

EXTERNAL_ID_MAX_LENGTH = Customer._meta.get_field("external_id").max_length


class CustomerErasureApi(APIView):
    """``POST /api/v1/customers/{external_id}/erasure/``: the customer asked to be forgotten.

    Their personal data is anonymised everywhere; orders, refunds and tickets stay under a
    pseudonymous id, which the answer carries (201). An erased or unknown customer is 404, and
    so is another storefront's.
    """

    permission_classes = [IsStorefront]

    @extend_schema(
        operation_id="customers_erasure_create",
        request=ErasureInputSerializer,
        responses={201: ErasureOutputSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, external_id: str):
        if len(external_id) > EXTERNAL_ID_MAX_LENGTH or "\x00" in external_id:
            raise Http404
        customer = Customer.objects.filter(
            storefront=request_storefront(request), external_id=external_id, erased_at__isnull=True
        ).first()
        if customer is None:
            raise Http404
        data = ErasureInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.customer_erase(
            customer=customer,
            requested_by=Actor.from_request(request),
            reason=data.validated_data["reason"],
        )
        return Response(ErasureOutputSerializer(record).data, status=status.HTTP_201_CREATED)
