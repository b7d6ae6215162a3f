from django.db import migrations

from csplatform.roles import sync_role_groups


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("rest_framework_api_key", "0005_auto_20220110_1102"),
    ]

    operations = [migrations.RunPython(sync_role_groups, migrations.RunPython.noop)]
