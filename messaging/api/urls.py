from django.urls import path

from .inbound import InboundEmailApi
from .views import (
    WebhookApi,
    WebhookDeliveryListApi,
    WebhookDeliveryRetryApi,
    WebhookListCreateApi,
    WebhookSecretRotateApi,
)

urlpatterns = [
    path("inbound/email/", InboundEmailApi.as_view(), name="inbound-email"),
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
