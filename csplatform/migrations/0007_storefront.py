import django.db.models.deletion
from django.db import migrations, models

# The storefront (the tenant) moves from orders to the platform, which every app stands on. Only
# Django's picture of it moves: the table keeps its name and rows, and the foreign keys of every
# app keep pointing at it (orders 0008 and messaging 0003 re-point them in the state alone).


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
        # Made meanwhile (a migrate that stopped halfway): keep the older type, whose ids the
        # log entries hold, and hand it the permissions granted on the newer one.
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
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("csplatform", "0006_api_scope_webhooks"),
        ("orders", "0007_exception_outcome"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Storefront",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "name",
                            models.CharField(max_length=100, unique=True, verbose_name="name"),
                        ),
                        (
                            "active",
                            models.BooleanField(
                                default=True,
                                help_text="An inactive storefront's keys are refused.",
                                verbose_name="active",
                            ),
                        ),
                        (
                            "is_default",
                            models.BooleanField(
                                default=False, editable=False, verbose_name="default storefront"
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(auto_now_add=True, verbose_name="created at"),
                        ),
                    ],
                    options={
                        "verbose_name": "storefront",
                        "verbose_name_plural": "storefronts",
                        "db_table": "orders_storefront",
                        "ordering": ["name"],
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("is_default", True)),
                                fields=("is_default",),
                                name="storefront_one_default",
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="apikeyprofile",
                    name="storefront",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="key_profiles",
                        to="csplatform.storefront",
                        verbose_name="storefront",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_platform, content_type_to_orders),
    ]
