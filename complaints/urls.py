from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace (csplatform/urls.py).
desk_urlpatterns = [
    path("complaints/", views.complaints_queue_page, name="complaints"),
    path(
        "complaints/<str:number>/<slug:action>/",
        views.complaint_action,
        name="complaint-action",
    ),
]
