from django.urls import path

from . import views

app_name = "kpis"
urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("export/", views.export_csv, name="export"),
    path("live/", views.live_page, name="live"),
    path("live/panel/", views.live_panel, name="live-panel"),
]
