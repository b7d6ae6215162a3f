import django.db.models.deletion
from django.db import migrations, models

# The default storefront that orders.0004_storefronts creates (its first row): every existing
# key is given it, in the one statement that adds the column.
DEFAULT_STOREFRONT_ID = 1


class Migration(migrations.Migration):
    dependencies = [
        ("csplatform", "0004_analyst_role"),
        ("orders", "0004_storefronts"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikeyprofile",
            name="storefront",
            field=models.ForeignKey(
                default=DEFAULT_STOREFRONT_ID,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="key_profiles",
                to="orders.storefront",
                verbose_name="storefront",
            ),
            preserve_default=False,
        ),
    ]
