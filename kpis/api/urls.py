from django.urls import path

from .views import KpiExportApi, KpiSummaryApi

urlpatterns = [
    path("kpis/summary/", KpiSummaryApi.as_view(), name="kpis-summary"),
    path("kpis/export/", KpiExportApi.as_view(), name="kpis-export"),
]
