from django.urls import path

from .views import OrderApi, OrderEventCreateApi

urlpatterns = [
    path("orders/<str:number>/", OrderApi.as_view(), name="order"),
    path("orders/<str:number>/events/", OrderEventCreateApi.as_view(), name="order-events"),
]
