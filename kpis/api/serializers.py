from rest_framework import serializers


class TargetSerializer(serializers.Serializer):
    value = serializers.FloatField()
    direction = serializers.ChoiceField(choices=["higher", "lower"])
    met = serializers.BooleanField(allow_null=True, help_text="null when there is no figure")


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The metric's name in kpis/definitions.py")
    name = serializers.CharField()
    group = serializers.CharField()
    unit = serializers.CharField()
    definition = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="null: no cases in the slice")
    target = TargetSerializer(allow_null=True)


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(source="from")
    end = serializers.DateField(source="to")
    time_zone = serializers.CharField()


class BacklogSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_age = serializers.DictField(child=serializers.IntegerField())
    by_status = serializers.DictField(child=serializers.IntegerField())


class ComplaintSplitSerializer(serializers.Serializer):
    by_category = serializers.DictField(child=serializers.IntegerField())
    by_severity = serializers.DictField(child=serializers.IntegerField())


class KpiSummarySerializer(serializers.Serializer):
    period = serializers.DictField(help_text='{"from", "to", "time_zone"}')
    filters = serializers.DictField()
    metrics = MetricSerializer(many=True)
    backlog = BacklogSerializer()
    complaints = ComplaintSplitSerializer()
