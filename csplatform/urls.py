from csp.decorators import csp_update
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from complaints.urls import desk_urlpatterns as complaints_desk
from csplatform.api.token import TokenObtainApi
from messaging.urls import desk_urlpatterns as messaging_desk
from orders.urls import desk_urlpatterns as orders_desk
from privacy.urls import desk_urlpatterns as privacy_desk
from refunds.urls import desk_urlpatterns as refunds_desk
from tickets.urls import desk_urlpatterns as tickets_desk

from . import views

desk_patterns: list[URLPattern | URLResolver] = [
    *tickets_desk,
    *orders_desk,
    *refunds_desk,
    *complaints_desk,
    *messaging_desk,
]
desk_patterns += privacy_desk

api_v1: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("", include("orders.api.urls")),
    path("", include("tickets.api.urls")),
    path("", include("refunds.api.urls")),
    path("", include("complaints.api.urls")),
    path("", include("surveys.api.urls")),
    path("", include("kpis.api.urls")),
    path("", include("privacy.api.urls")),
    path("", include("messaging.api.urls")),
]

urlpatterns = [
    path("", views.root, name="root"),
    path("healthz/", views.healthz, name="healthz"),
    path("", include("surveys.urls")),  # the public survey page, /s/<token>
    path("login/", views.SignInView.as_view(), name="login"),
    path("account/two-factor/", views.two_factor, name="two-factor"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", include((desk_patterns, "desk"))),
    path("kpis/", include("kpis.urls")),
    path("admin/login/", views.admin_sign_in),  # before the admin site's own sign-in form
    # Storefronts moved from the orders app to the platform: old admin links and bookmarks.
    re_path(
        r"^admin/orders/storefront/(?P<rest>.*)$",
        RedirectView.as_view(
            url="/admin/csplatform/storefront/%(rest)s", permanent=True, query_string=True
        ),
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI styles its widgets inline: allowed on this page only, scripts stay 'self'.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
]
