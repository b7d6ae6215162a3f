from django.urls import path

from .views import TicketDetailApi, TicketListCreateApi, TicketMergeApi, TicketMessageCreateApi

urlpatterns = [
    path("tickets/", TicketListCreateApi.as_view(), name="tickets"),
    path("tickets/<str:number>/", TicketDetailApi.as_view(), name="ticket"),
    path(
        "tickets/<str:number>/messages/", TicketMessageCreateApi.as_view(), name="ticket-messages"
    ),
    path("tickets/<str:number>/merge/", TicketMergeApi.as_view(), name="ticket-merge"),
]
