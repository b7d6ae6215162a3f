from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace; the queue is the desk's home page.
desk_urlpatterns = [
    path("", views.queue_page, name="home"),
    path("tickets/bulk/", views.tickets_bulk, name="ticket-bulk"),
    path("presence/", views.presence_update, name="presence"),
    path("notifications/", views.notifications_page, name="notifications"),
    path("notifications/bell/", views.notifications_bell, name="notifications-bell"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("tickets/<str:number>/", views.ticket_page, name="ticket-detail"),
    path("tickets/<str:number>/reply/", views.ticket_reply, name="ticket-reply"),
    path(
        "tickets/<str:number>/attachments/<int:attachment_id>/",
        views.attachment_download,
        name="ticket-attachment",
    ),
    path("tickets/<str:number>/fields/", views.ticket_fields_update, name="ticket-fields"),
    path("tickets/<str:number>/assign/", views.ticket_assign, name="ticket-assign"),
    path("tickets/<str:number>/accept/", views.ticket_accept, name="ticket-accept"),
    path(
        "tickets/<str:number>/exceptions/<int:exception_id>/resolve/",
        views.ticket_exception_resolve,
        name="ticket-exception-resolve",
    ),
    path("tickets/<str:number>/canned/", views.ticket_canned_reply, name="ticket-canned"),
    path("tickets/<str:number>/next/", views.ticket_next, name="ticket-next"),
]
