from rest_framework import serializers

from csplatform.api.strict import StrictSerializer
from messaging.choices import WebhookEventType
from messaging.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointInputSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), min_length=1
    )
    active = serializers.BooleanField(default=True)


class WebhookEndpointPatchInputSerializer(WebhookEndpointInputSerializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        min_length=1,
        required=False,
    )
    active = serializers.BooleanField(required=False)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "events",
            "active",
            "created_at",
            "disabled_at",
            "failing_since",
            "previous_secret_expires_at",
        ]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…), shown only here.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookSecretRotatedSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown only here.")
    previous_secret_expires_at = serializers.DateTimeField(
        help_text="Until then, deliveries carry a signature by the previous secret too."
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(help_text="The Webhook-Id: the same in every attempt.")
    type = serializers.CharField(source="event.type")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_latency_ms",
            "last_error",
            "delivered_at",
            "created_at",
        ]
