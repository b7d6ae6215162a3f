"""The default texts of the customer notices (``messaging.reference_data``)."""

from django.db import migrations

from messaging.reference_data import TEXTS, ensure_default_notice_templates


def texts_remove(apps, schema_editor):
    apps.get_model("messaging", "NoticeTemplate").objects.filter(
        notice_type__in=list(TEXTS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0008_notice_templates"),
    ]

    operations = [migrations.RunPython(ensure_default_notice_templates, texts_remove)]
