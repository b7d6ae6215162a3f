import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # The storefront moved to the platform (csplatform 0007); the columns and their foreign key
    # constraints stay as they are, only the state follows. Before orders forgets the model.
    dependencies = [
        ("csplatform", "0007_storefront"),
        ("messaging", "0002_roles"),
    ]
    run_before = [("orders", "0008_storefront_moved_to_platform")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="outboxevent",
                    name="storefront",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="outbox_events",
                        to="csplatform.storefront",
                        verbose_name="storefront",
                    ),
                ),
                migrations.AlterField(
                    model_name="webhookendpoint",
                    name="storefront",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_endpoints",
                        to="csplatform.storefront",
                        verbose_name="storefront",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
