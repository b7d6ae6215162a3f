import django.db.models.deletion
from django.db import migrations, models

# The storefront that the existing keys, customers and orders are given. The table is created
# by this very migration, so the first row's id is 1, and AddField can set the new columns of
# every existing row to it in one statement each (on PostgreSQL a column added with a constant
# default is not even rewritten): no UPDATE over 300,000 orders.
DEFAULT_STOREFRONT_ID = 1
DEFAULT_STOREFRONT_NAME = "Default storefront"


def create_default_storefront(apps, schema_editor):
    Storefront = apps.get_model("orders", "Storefront")
    storefront = Storefront.objects.using(schema_editor.connection.alias).create(
        name=DEFAULT_STOREFRONT_NAME, active=True
    )
    if storefront.pk != DEFAULT_STOREFRONT_ID:
        raise RuntimeError(
            f"The default storefront got id {storefront.pk}, not {DEFAULT_STOREFRONT_ID}."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_customer_pii_encrypted"),
    ]

    operations = [
        migrations.CreateModel(
            name="Storefront",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100, unique=True, verbose_name="name")),
                (
                    "active",
                    models.BooleanField(
                        default=True,
                        help_text="An inactive storefront's keys are refused.",
                        verbose_name="active",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
            ],
            options={
                "verbose_name": "storefront",
                "verbose_name_plural": "storefronts",
                "ordering": ["name"],
            },
        ),
        migrations.RunPython(create_default_storefront, migrations.RunPython.noop),
        migrations.AddField(
            model_name="customer",
            name="storefront",
            field=models.ForeignKey(
                default=DEFAULT_STOREFRONT_ID,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="customers",
                to="orders.storefront",
                verbose_name="storefront",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="order",
            name="storefront",
            field=models.ForeignKey(
                default=DEFAULT_STOREFRONT_ID,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="orders.storefront",
                verbose_name="storefront",
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="customer",
            name="external_id",
            field=models.CharField(max_length=64, verbose_name="external id"),
        ),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                fields=("external_id", "storefront"), name="customer_external_id_per_storefront"
            ),
        ),
    ]
