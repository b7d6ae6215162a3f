from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.actors import Actor
from csplatform.api.pagination import PeekPagination
from csplatform.api.parsers import BoundedJSONParser
from csplatform.api.permissions import (
    IsDeskUser,
    IsStorefrontOrDeskUser,
    is_storefront_request,
    request_storefront,
)
from csplatform.api.schema import ERROR_RESPONSES, ErrorSerializer, filterset_parameters
from csplatform.api.views import StorefrontCreates
from csplatform.uploads import MAX_PER_MESSAGE, UploadParser
from orders.services import customer_and_order_for_request
from tickets import services
from tickets.deliveries import message_deliveries
from tickets.models import Team, Ticket
from tickets.selectors import storefront_tickets, ticket_detail

from .filters import TicketQueueFilter
from .serializers import (
    AgentTicketListSerializer,
    AgentTicketSerializer,
    MessageInputSerializer,
    MessageMultipartInputSerializer,
    StorefrontTicketListSerializer,
    StorefrontTicketSerializer,
    TicketCreatedSerializer,
    TicketCreateInputSerializer,
    TicketMergeInputSerializer,
    TicketPatchInputSerializer,
)


def _ticket_for(request, number: str) -> Ticket:
    """The ticket as the principal may see it: a storefront key its storefront's (those of its
    customers), a desk user their teams'."""
    if is_storefront_request(request):
        ticket = (
            Ticket.objects.of_storefront(request_storefront(request))
            .select_related("order")
            .prefetch_related("messages__attachments")
            .filter(number=number)
            .first()
        )
    else:
        ticket = ticket_detail(user=request.user, number=number)
    if ticket is None:
        raise Http404
    return ticket


def _representation(request, ticket: Ticket) -> dict:
    if is_storefront_request(request):
        return StorefrontTicketSerializer(ticket).data
    deliveries = message_deliveries(ticket, list(ticket.messages.all()))
    return AgentTicketSerializer(ticket, context={"deliveries": deliveries}).data


class TicketListCreateApi(StorefrontCreates, APIView):
    """``GET`` (the queue, or a customer's tickets) and ``POST`` (open a ticket)."""

    permission_classes = [IsStorefrontOrDeskUser]
    pagination_class = PeekPagination

    @extend_schema(
        operation_id="tickets_list",
        parameters=[
            OpenApiParameter(
                "customer",
                str,
                description="Storefront: the customer's external id (required with an API key).",
            ),
            *filterset_parameters(TicketQueueFilter),
            OpenApiParameter("page", int),
        ],
        responses={200: AgentTicketListSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        paginator = PeekPagination()
        if is_storefront_request(request):
            customer = request.query_params.get("customer", "").strip()
            if not customer:
                raise ValidationError({"customer": ["The customer's external id is required."]})
            page = paginator.paginate_queryset(
                storefront_tickets(
                    storefront=request_storefront(request), customer_external_id=customer
                ),
                request,
                self,
            )
            return paginator.get_paginated_response(
                StorefrontTicketListSerializer(page, many=True).data
            )
        filterset = TicketQueueFilter(
            request.query_params, queryset=Ticket.objects.none(), request=request
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = paginator.paginate_queryset(filterset.qs, request, self)
        return paginator.get_paginated_response(AgentTicketListSerializer(page, many=True).data)

    @extend_schema(
        operation_id="tickets_create",
        request=TicketCreateInputSerializer,
        responses={201: TicketCreatedSerializer, **ERROR_RESPONSES},
    )
    def post(self, request):
        serializer = TicketCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            customer, order = customer_and_order_for_request(
                storefront=request_storefront(request),
                customer=data["customer"],
                order_number=data.get("order_number"),
            )
            ticket = services.ticket_create(
                customer=customer,
                order=order,
                kind=data["kind"],
                channel=data["channel"],
                subject=data["subject"],
                body=data["body"],
                actor=Actor.from_request(request),
            )
        return Response(TicketCreatedSerializer(ticket).data, status=status.HTTP_201_CREATED)


class TicketDetailApi(APIView):
    permission_classes = [IsStorefrontOrDeskUser]

    def get_permissions(self):
        if self.request.method == "PATCH":
            return [IsDeskUser()]
        return super().get_permissions()

    @extend_schema(
        operation_id="tickets_retrieve",
        responses={
            200: OpenApiResponse(
                AgentTicketSerializer,
                description="Agents get this; the storefront gets the public fields only.",
            ),
            **ERROR_RESPONSES,
        },
    )
    def get(self, request, number: str):
        return Response(_representation(request, _ticket_for(request, number)))

    @extend_schema(
        operation_id="tickets_partial_update",
        request=TicketPatchInputSerializer,
        responses={200: AgentTicketSerializer, **ERROR_RESPONSES},
    )
    def patch(self, request, number: str):
        ticket = _ticket_for(request, number)
        serializer = TicketPatchInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changes = {}
        if "team" in data:
            team = Team.objects.filter(name=data["team"]).first()
            if team is None:
                raise ValidationError({"team": ["No team with this name."]})
            changes["team"] = team
        if "assignee" in data:
            changes["assignee"] = _assignee_from(request, data["assignee"])
        updated = services.ticket_update(
            ticket=ticket,
            by_user=request.user,
            status=data.get("status"),
            priority=data.get("priority"),
            kind=data.get("kind"),
            tags=data.get("tags"),
            **changes,
        )
        # Moved to a team the user does not see: the change is done, show its result once.
        shown = ticket_detail(user=request.user, number=number) or updated
        return Response(_representation(request, shown))


def _assignee_from(request, value):
    from django.contrib.auth import get_user_model

    if value is None or value == "none":
        return None
    if value == "me":
        return request.user
    user = get_user_model().objects.filter(username=value, is_active=True).first()
    if user is None:
        raise ValidationError({"assignee": ["No active user with this username."]})
    return user


class TicketMessageCreateApi(APIView):
    """A customer's message (storefront key) or an agent's reply or note.

    JSON, or multipart/form-data with files in ``attachments`` (checked by
    ``csplatform.uploads``: type sniffed from the content, size and count limited).
    """

    permission_classes = [IsStorefrontOrDeskUser]
    parser_classes = [BoundedJSONParser, UploadParser]
    upload_max_count = MAX_PER_MESSAGE

    @extend_schema(
        operation_id="tickets_messages_create",
        request={
            "application/json": MessageInputSerializer,
            "multipart/form-data": MessageMultipartInputSerializer,
        },
        responses={
            201: OpenApiResponse(
                AgentTicketSerializer,
                description="The ticket that received the message (a new one after a closed "
                "ticket), as the principal may see it.",
            ),
            **ERROR_RESPONSES,
            415: OpenApiResponse(
                ErrorSerializer, description="Neither JSON nor multipart/form-data"
            ),
        },
    )
    def post(self, request, number: str):
        ticket = _ticket_for(request, number)
        serializer = MessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        attachments = request.FILES.getlist("attachments")
        if is_storefront_request(request):
            agents_only = [f for f in ("internal", "status", "as_plan") if data.get(f)]
            if agents_only:
                raise ValidationError(
                    {f: ["The storefront posts customer messages only."] for f in agents_only}
                )
            ticket, _message = services.ticket_customer_message(
                ticket=ticket,
                body=data["body"],
                attachments=attachments,
                actor=Actor.from_request(request),
            )
        else:
            services.ticket_reply(
                ticket=ticket,
                user=request.user,
                body=data["body"],
                internal=data["internal"],
                then_status=data.get("status"),
                attachments=attachments,
                as_plan=data["as_plan"],
            )
        return Response(
            _representation(request, _ticket_for(request, ticket.number)),
            status=status.HTTP_201_CREATED,
        )


class TicketMergeApi(APIView):
    permission_classes = [IsDeskUser]

    @extend_schema(
        operation_id="tickets_merge",
        request=TicketMergeInputSerializer,
        responses={200: AgentTicketSerializer, **ERROR_RESPONSES},
    )
    def post(self, request, number: str):
        source = _ticket_for(request, number)
        serializer = TicketMergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = _ticket_for(request, serializer.validated_data["into"])
        services.ticket_merge(source=source, target=target, by_user=request.user)
        return Response(_representation(request, _ticket_for(request, target.number)))


class TicketAcceptApi(APIView):
    """受理: an agent accepts an after-sales ticket; its acceptance timer stops."""

    permission_classes = [IsDeskUser]

    @extend_schema(
        operation_id="tickets_accept",
        request=None,
        responses={
            200: AgentTicketSerializer,
            **ERROR_RESPONSES,
        },
        description="After-sales tickets only (409 `milestone_not_on_ticket` otherwise: a "
        "complaint or a return request records its acceptance on its own case); 409 "
        "`acceptance_recorded` when accepted already, `ticket_closed` on a closed ticket.",
    )
    def post(self, request, number: str):
        ticket = _ticket_for(request, number)
        services.ticket_accept(ticket=ticket, user=request.user)
        return Response(_representation(request, _ticket_for(request, number)))
