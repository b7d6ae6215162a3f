from django.db import migrations, models
from django.utils import timezone

from tickets.reference_data import sla_policies_upgrade_to_v2


def upgrade_policies(apps, schema_editor):
    """Shipped policies move to the metrics of sla.md; every running clock is then resynced
    in the background (tickets.tasks.sla_recompute_requested_task)."""
    if sla_policies_upgrade_to_v2(apps, schema_editor):
        TicketSettings = apps.get_model("tickets", "TicketSettings")
        settings, _ = TicketSettings.objects.get_or_create(pk=1)
        settings.sla_recompute_requested_at = timezone.now()
        settings.save(update_fields=["sla_recompute_requested_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_business_calendar_workdays"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketsettings",
            name="sla_recompute_requested_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                null=True,
                verbose_name="SLA recompute of all running clocks requested at",
            ),
        ),
        migrations.RunPython(upgrade_policies, migrations.RunPython.noop),
    ]
