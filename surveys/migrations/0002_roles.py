from django.db import migrations

from csplatform.roles import sync_role_groups


class Migration(migrations.Migration):
    # The admin role holds every permission of the surveys app (csplatform.roles.ADMIN_APPS).
    dependencies = [("surveys", "0001_initial"), ("csplatform", "0001_roles")]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
