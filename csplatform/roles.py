"""The roles of the product and what each may do: three desk roles and a read-only analyst.

Roles are Django groups. The permissions each role holds are declared here once and applied by
data migrations (``sync_role_groups``), so a new app only adds its codenames below and a
migration that calls the function again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeGuard

from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

AGENT = "agent"
SUPERVISOR = "supervisor"
ADMIN = "admin"
# Reads the KPIs of every team, and nothing else: no desk, no customer data.
ANALYST = "analyst"
DESK_ROLES = (AGENT, SUPERVISOR, ADMIN)
ROLES = (*DESK_ROLES, ANALYST)
ROLE_LABELS = {
    AGENT: _("Agent"),
    SUPERVISOR: _("Supervisor"),
    ADMIN: _("Admin"),
    ANALYST: _("Analyst"),
}
DEMO_GROUP = "demo"
# Where role_of keeps a user's role for the rest of the request.
_ROLE_ATTRIBUTE = "_cs_role"

# Apps whose every permission the admin role holds.
ADMIN_APPS = (
    "auth",
    "authtoken",
    "rest_framework_api_key",
    "orders",
    "tickets",
    "refunds",
    "complaints",
    "surveys",
    "kpis",
    "csplatform",
    "privacy",
    "messaging",
)

AGENT_PERMISSIONS: tuple[str, ...] = (
    "orders.view_customer",
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_payment",
    "orders.view_shipment",
    "orders.view_orderevent",
    "orders.view_orderexception",
)
AGENT_PERMISSIONS += (
    "tickets.view_ticket",
    "tickets.change_ticket",
    "tickets.view_message",
    "tickets.add_message",
    "tickets.view_ticketevent",
    "tickets.view_cannedreply",
    "tickets.view_team",
    "tickets.view_tag",
)
AGENT_PERMISSIONS += (
    "refunds.view_returnrequest",
    "refunds.change_returnrequest",
    "refunds.view_refund",
    "refunds.add_refund",
)
SUPERVISOR_PERMISSIONS: tuple[str, ...] = (
    *AGENT_PERMISSIONS,
    "orders.change_orderexception",
    "tickets.view_agentprofile",
    "tickets.change_agentprofile",
    "tickets.add_cannedreply",
    "tickets.change_cannedreply",
)
ANALYST_PERMISSIONS = ("kpis.view_kpitarget",)
# Supervisors of any team read who revealed customers' personal data, and the erasures.
SUPERVISOR_PERMISSIONS += ("privacy.view_piiaccesslog", "privacy.view_erasurerecord")


def sync_role_groups(apps: Apps, schema_editor: BaseDatabaseSchemaEditor | None = None) -> None:
    """Create the role groups and give them exactly the declared permissions (idempotent)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions only asks whether the models module is set (in migrations it is
        # not): a flag will do.
        app_config.models_module = True  # type: ignore[assignment]
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def by_names(names: tuple[str, ...]) -> list[Any]:
        wanted = {tuple(name.split(".", 1)) for name in names}
        perms = Permission.objects.select_related("content_type").filter(
            codename__in={codename for _, codename in wanted}
        )
        return [p for p in perms if (p.content_type.app_label, p.codename) in wanted]

    Group.objects.get_or_create(name=DEMO_GROUP)
    Group.objects.get_or_create(name=AGENT)[0].permissions.set(by_names(AGENT_PERMISSIONS))
    Group.objects.get_or_create(name=SUPERVISOR)[0].permissions.set(
        by_names(SUPERVISOR_PERMISSIONS)
    )
    Group.objects.get_or_create(name=ANALYST)[0].permissions.set(by_names(ANALYST_PERMISSIONS))
    Group.objects.get_or_create(name=ADMIN)[0].permissions.set(
        Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
    )


def role_of(user: User | AnonymousUser) -> str | None:
    """The highest role a user holds: admin over supervisor over agent."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    # One request asks several times (view, navigation): read the groups once per user object.
    if not hasattr(user, _ROLE_ATTRIBUTE):
        names = {g.name for g in user.groups.all()}
        held = (r for r in (ADMIN, SUPERVISOR, AGENT, ANALYST) if r in names)
        setattr(user, _ROLE_ATTRIBUTE, next(held, None))
    role: str | None = getattr(user, _ROLE_ATTRIBUTE)
    return role


def is_desk_user(user: User | AnonymousUser) -> TypeGuard[User]:
    """Whether the user is an agent, a supervisor or an admin (who are all signed in)."""
    return role_of(user) in DESK_ROLES
