from django.urls import path

from .sla import SlaCalendarsApi, SlaPoliciesApi
from .views import (
    TicketAcceptApi,
    TicketDetailApi,
    TicketListCreateApi,
    TicketMergeApi,
    TicketMessageCreateApi,
)

urlpatterns = [
    path("sla/policies/", SlaPoliciesApi.as_view(), name="sla-policies"),
    path("sla/calendars/", SlaCalendarsApi.as_view(), name="sla-calendars"),
    path("tickets/", TicketListCreateApi.as_view(), name="tickets"),
    path("tickets/<str:number>/", TicketDetailApi.as_view(), name="ticket"),
    path(
        "tickets/<str:number>/messages/", TicketMessageCreateApi.as_view(), name="ticket-messages"
    ),
    path("tickets/<str:number>/merge/", TicketMergeApi.as_view(), name="ticket-merge"),
    path("tickets/<str:number>/accept/", TicketAcceptApi.as_view(), name="ticket-accept"),
]
