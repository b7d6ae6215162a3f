from django.urls import path

from .views import CustomerErasureApi

urlpatterns = [
    path(
        "customers/<str:external_id>/erasure/",
        CustomerErasureApi.as_view(),
        name="customer-erasure",
    ),
]
