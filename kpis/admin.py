from django.contrib import admin

from .definitions import METRICS
from .models import KpiTarget


@admin.register(KpiTarget)
class KpiTargetAdmin(admin.ModelAdmin):
    list_display = ["metric", "metric_name", "direction", "value"]
    list_editable = ["direction", "value"]
    search_fields = ["metric"]

    @admin.display(description="name")
    def metric_name(self, obj: KpiTarget) -> str:
        metric = METRICS.get(obj.metric)
        return str(metric.label) if metric else obj.metric
