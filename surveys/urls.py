from django.urls import path

from . import views

# Mounted at the site root: the link customers receive is ``/s/<token>``.
urlpatterns = [
    path("s/<str:token>", views.survey_page, name="survey"),
    path("s/<str:token>/thanks", views.survey_thanks, name="survey-thanks"),
]
