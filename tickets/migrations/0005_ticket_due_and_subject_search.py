"""Indexes for a million tickets: the queue's default order, subject search, e-mail batches.

The trigram index serves ``subject__icontains`` (``UPPER(subject) LIKE UPPER('%…%')``) on
PostgreSQL, where it needs the pg_trgm extension; other databases do without it.
"""

from django.db import migrations, models
from django.db.models import Q

SUBJECT_INDEX = "ticket_subject_trgm"


def create_subject_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {SUBJECT_INDEX} ON tickets_ticket "
        "USING gin ((UPPER(subject::text)) gin_trgm_ops)"
    )


def drop_subject_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SUBJECT_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_default_sla_policies")]

    operations = [
        migrations.AddIndex(
            model_name="ticket",
            index=models.Index(fields=["next_due_at", "id"], name="ticket_due"),
        ),
        migrations.RunPython(create_subject_index, drop_subject_index),
        migrations.RemoveIndex(model_name="notification", name="notification_unsent"),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=Q(emailed_at__isnull=True),
                fields=["deliver_after", "id"],
                name="notification_unsent",
            ),
        ),
    ]
