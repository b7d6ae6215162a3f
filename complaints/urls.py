from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace (csplatform/urls.py).
desk_urlpatterns = [
    path("complaints/", views.complaints_queue_page, name="complaints"),
    path("tickets/<str:number>/complaint/", views.complaint_start, name="complaint-start"),
    path(
        "complaints/<str:number>/<slug:action>/",
        views.complaint_action,
        name="complaint-action",
    ),
]
