from django.urls import path

from .views import SurveyApi, SurveyLinkApi

urlpatterns = [
    path("surveys/", SurveyLinkApi.as_view(), name="survey-links"),
    path("surveys/<str:token>/", SurveyApi.as_view(), name="survey"),
]
