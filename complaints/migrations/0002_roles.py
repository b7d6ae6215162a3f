from django.db import migrations

from csplatform.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial"), ("tickets", "0004_default_sla_policies")]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
