from django.urls import path

from . import views

# Mounted under /desk/ in the "desk" namespace.
desk_urlpatterns = [
    path("orders/", views.order_list, name="order-list"),
    path("orders/<str:number>/", views.order_detail, name="order-detail"),
]
