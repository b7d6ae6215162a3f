from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace.
desk_urlpatterns = [
    path(
        "orders/<str:number>/reveal/<str:field>/",
        views.order_pii_reveal,
        name="order-pii-reveal",
    ),
    path(
        "tickets/<str:number>/reveal/<str:field>/",
        views.ticket_pii_reveal,
        name="ticket-pii-reveal",
    ),
    path("privacy/access-log/", views.pii_access_log_page, name="pii-access-log"),
]
