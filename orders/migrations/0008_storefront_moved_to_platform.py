import django.db.models.deletion
from django.db import migrations, models


def content_type_move(apps, schema_editor, old: str, new: str) -> None:
    """Relabel the storefront's content type, so that the permissions granted on it, the role
    groups holding them and the admin and audit log entries about storefronts stay attached."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    moving = ContentType.objects.using(db).filter(app_label=old, model="storefront").first()
    if moving is None:  # a database whose content types have not been made yet
        return
    there = ContentType.objects.using(db).filter(app_label=new, model="storefront").first()
    if there is not None:
        # Made meanwhile (a role migration ran between csplatform 0007 and this one): keep the
        # older type, whose ids the log entries hold, and hand it the grants of the newer one.
        for permission in Permission.objects.using(db).filter(content_type=there):
            kept = Permission.objects.using(db).filter(
                content_type=moving, codename=permission.codename
            )
            if kept.exists():
                kept.first().group_set.add(*permission.group_set.all())
                kept.first().user_set.add(*permission.user_set.all())
        there.delete()
    moving.app_label = new
    moving.save(update_fields=["app_label"])


def content_type_to_platform(apps, schema_editor):
    content_type_move(apps, schema_editor, "orders", "csplatform")


def content_type_to_orders(apps, schema_editor):
    content_type_move(apps, schema_editor, "csplatform", "orders")


class Migration(migrations.Migration):
    # The storefront moved to the platform (csplatform 0007) with its table ``orders_storefront``
    # untouched: customers and orders point at the same rows, only the state follows, and the
    # content type with it.
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("csplatform", "0007_storefront"),
        ("orders", "0007_exception_outcome"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="customer",
                    name="storefront",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="customers",
                        to="csplatform.storefront",
                        verbose_name="storefront",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="storefront",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="csplatform.storefront",
                        verbose_name="storefront",
                    ),
                ),
                migrations.DeleteModel(name="Storefront"),
            ],
            database_operations=[],
        ),
        # Last, once no app's state has the model in orders: a role migration run meanwhile
        # would make the orders content type again.
        migrations.RunPython(content_type_to_platform, content_type_to_orders),
    ]
