from django.db import migrations

from tickets.reference_data import ensure_default_sla_policies


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_sla_engine")]

    operations = [migrations.RunPython(ensure_default_sla_policies, migrations.RunPython.noop)]
