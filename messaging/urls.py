from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace (csplatform/urls.py).
desk_urlpatterns = [
    path(
        "tickets/<str:number>/emails/<int:email_id>/retry/",
        views.email_retry,
        name="email-retry",
    ),
]
