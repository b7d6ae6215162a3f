from django.db import migrations

from csplatform.roles import sync_role_groups


class Migration(migrations.Migration):
    """The read-only analyst role (the KPIs of every team)."""

    dependencies = [
        ("csplatform", "0003_api_key_profiles"),
        ("kpis", "0002_targets_roles_and_ticket_index"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
