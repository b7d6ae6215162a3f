from django.db import migrations

# What the webhook events carry: tickets and their messages (tickets), order exceptions
# (orders) and settled refunds (returns). A key that may read all of these loses nothing by
# also registering endpoints that push the same data; a key narrower than that keeps its
# narrower reach, and an admin grants ``webhooks`` to it by hand if it should have it.
EVENT_SCOPES = {"tickets", "orders", "returns"}


def keys_that_read_every_event_get_the_webhooks_scope(apps, schema_editor):
    """Keys made before the ``webhooks`` scope existed with every scope of their day (the
    default) could not use ``/api/v1/webhooks/``: they can now. Returns how many changed."""
    ApiKeyProfile = apps.get_model("csplatform", "ApiKeyProfile")
    changed = []
    for profile in ApiKeyProfile.objects.all().only("id", "scopes"):
        scopes = list(profile.scopes or [])
        if EVENT_SCOPES <= set(scopes) and "webhooks" not in scopes:
            profile.scopes = [*scopes, "webhooks"]
            changed.append(profile)
    ApiKeyProfile.objects.bulk_update(changed, ["scopes"], batch_size=500)
    return len(changed)


class Migration(migrations.Migration):
    dependencies = [
        ("csplatform", "0008_api_scope_inbound_email"),
    ]

    operations = [
        # Not undone: a scope granted since by an admin could not be told from this one.
        migrations.RunPython(
            keys_that_read_every_event_get_the_webhooks_scope, migrations.RunPython.noop
        ),
    ]
