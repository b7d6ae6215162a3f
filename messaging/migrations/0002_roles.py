from django.db import migrations

from csplatform.roles import sync_role_groups


class Migration(migrations.Migration):
    # The admin role holds every permission of the app (csplatform.roles.ADMIN_APPS).
    dependencies = [("messaging", "0001_initial"), ("csplatform", "0006_api_scope_webhooks")]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
