import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # The storefront moved to the platform (csplatform 0007) with its table ``orders_storefront``
    # untouched: customers and orders point at the same rows, only the state follows.
    dependencies = [
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
    ]
