from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from orders.urls import desk_urlpatterns as orders_desk
from refunds.urls import desk_urlpatterns as refunds_desk
from tickets.urls import desk_urlpatterns as tickets_desk

from . import views

desk_patterns = [*tickets_desk, *orders_desk, *refunds_desk]

api_v1 = [
    path("auth/token/", obtain_auth_token, name="auth-token"),
    path("", include("orders.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include("refunds.api.urls")),
]

urlpatterns = [
    path("", views.root, name="root"),
    path("healthz/", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", include((desk_patterns, "desk"))),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
