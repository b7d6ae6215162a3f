from django.urls import path

from .views import (
    WebhookApi,
    WebhookDeliveryListApi,
    WebhookDeliveryRetryApi,
    WebhookListCreateApi,
    WebhookSecretRotateApi,
)

urlpatterns = [
    path("webhooks/", WebhookListCreateApi.as_view(), name="webhooks"),
    path("webhooks/<int:webhook_id>/", WebhookApi.as_view(), name="webhook"),
    path(
        "webhooks/<int:webhook_id>/rotate-secret/",
        WebhookSecretRotateApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/",
        WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/retry/",
        WebhookDeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
]
