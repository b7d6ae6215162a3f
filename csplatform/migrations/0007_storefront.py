import django.db.models.deletion
from django.db import migrations, models

# The storefront (the tenant) moves from orders to the platform, which every app stands on. Only
# Django's picture of it moves: the table keeps its name and rows, and the foreign keys of every
# app keep pointing at it (orders 0008 and messaging 0003 re-point them in the state alone;
# orders 0008 relabels its content type).


class Migration(migrations.Migration):
    dependencies = [
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
    ]
