from django.db import migrations

from csplatform.roles import sync_role_groups
from tickets.reference_data import ensure_default_team


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("csplatform", "0001_roles"),
    ]

    operations = [
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
        migrations.RunPython(ensure_default_team, migrations.RunPython.noop),
    ]
