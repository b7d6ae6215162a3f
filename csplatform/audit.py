"""The configuration changes the audit log keeps (django-auditlog): who changed what, when,
from which value to which. Read in admin under "Log entries"."""

from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

# (app label, model name, fields left out of the record)
AUDITED = (
    ("tickets", "SlaPolicy", ()),
    ("tickets", "SlaTarget", ()),
    ("tickets", "EscalationRule", ()),
    ("tickets", "BusinessCalendar", ()),
    ("tickets", "BusinessHours", ()),
    ("tickets", "Holiday", ()),
    ("tickets", "BusinessCalendarWorkday", ()),
    ("tickets", "RoutingRule", ()),
    ("tickets", "Team", ()),
    ("tickets", "TicketSettings", ()),
    ("tickets", "CannedReply", ()),
    ("refunds", "RefundRules", ()),
    ("refunds", "CategoryRule", ()),
    ("orders", "OrderSettings", ()),
    ("csplatform", "Storefront", ()),
    ("csplatform", "ApiKeyProfile", ("last_used_at",)),
    ("rest_framework_api_key", "APIKey", ("hashed_key",)),
)

auditlog.register(
    get_user_model(), exclude_fields=["password", "last_login"], m2m_fields={"groups"}
)
auditlog.register(Group, m2m_fields={"permissions"})
for app_label, model_name, excluded in AUDITED:
    if apps.is_installed(app_label) or app_label == "rest_framework_api_key":
        auditlog.register(apps.get_model(app_label, model_name), exclude_fields=list(excluded))
