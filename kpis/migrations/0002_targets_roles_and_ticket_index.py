from django.db import migrations

from csplatform.roles import sync_role_groups


def targets_add(apps, schema_editor):
    from kpis.definitions import TARGET_DEFAULTS

    KpiTarget = apps.get_model("kpis", "KpiTarget")
    for metric, (value, direction) in TARGET_DEFAULTS.items():
        KpiTarget.objects.get_or_create(
            metric=metric, defaults={"value": value, "direction": direction}
        )


# The KPI access paths into other apps' tables: declared here, where they are used (same SQL on
# PostgreSQL and SQLite), rather than in the apps that own the tables.
INDEXES = (
    ("kpis_ticket_updated_at", "tickets_ticket", "updated_at"),
    ("kpis_order_placed_at", "orders_order", "placed_at"),
    ("kpis_complaint_created_at", "complaints_complaint", "created_at"),
    ("kpis_return_created_at", "refunds_returnrequest", "created_at"),
    ("kpis_refund_settled_at", "refunds_refund", "settled_at"),
    ("kpis_invitation_sent_at", "surveys_surveyinvitation", "sent_at"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0001_initial"),
        ("tickets", "0008_team_hours"),
        ("complaints", "0002_roles"),
        ("surveys", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(targets_add, migrations.RunPython.noop),
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
        *(
            migrations.RunSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, table, column in INDEXES
        ),
    ]
