from rest_framework import serializers

from csplatform.api.strict import StrictSerializer
from privacy.models import ErasureRecord


class ErasureInputSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ErasureOutputSerializer(serializers.ModelSerializer):
    """The destruction record: the pseudonymous id and what changed, never the values."""

    customer = serializers.CharField(source="pseudonym")

    class Meta:
        model = ErasureRecord
        fields = ["customer", "at", "trigger", "rows_by_table", "files_deleted"]
