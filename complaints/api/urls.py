from django.urls import path

from .views import ComplaintConfirmApi, ComplaintDetailApi, ComplaintListCreateApi

urlpatterns = [
    path("complaints/", ComplaintListCreateApi.as_view(), name="complaints"),
    path("complaints/<str:number>/", ComplaintDetailApi.as_view(), name="complaint"),
    path(
        "complaints/<str:number>/confirm/", ComplaintConfirmApi.as_view(), name="complaint-confirm"
    ),
]
