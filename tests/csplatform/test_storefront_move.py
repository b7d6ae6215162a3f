"""The storefront moved from orders to the platform in Django's state only: undoing and
redoing the move keeps its rows, the rows that point at them, and the permissions granted on
it (its content type is relabelled, not replaced)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from csplatform.models import Storefront
from orders.models import Order
from tests.factories import OrderFactory, StorefrontFactory, storefront_api_key, webhook_endpoint

BEFORE_THE_MOVE = [("csplatform", "0006_api_scope_webhooks")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def storefront_content_type() -> tuple[str, str]:
    ContentType.objects.clear_cache()
    return ContentType.objects.values_list("app_label", "model").get(model="storefront")


@pytest.mark.django_db(transaction=True)
def test_undoing_and_redoing_the_move_keeps_rows_foreign_keys_and_permissions():
    shop = StorefrontFactory(name="Shop B")
    order = OrderFactory(customer__storefront=shop, storefront=shop)
    api_key, _ = storefront_api_key("shop B key", storefront=shop)
    endpoint, _ = webhook_endpoint("https://shop-b.example/hooks", storefront=shop)
    keepers = Group.objects.create(name="storefront keepers")
    keepers.permissions.add(Permission.objects.get(codename="change_storefront"))
    leaf = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        migrate(BEFORE_THE_MOVE)
        assert storefront_content_type() == ("orders", "storefront")
    finally:
        migrate(leaf)

    assert storefront_content_type() == ("csplatform", "storefront")
    assert list(keepers.permissions.values_list("content_type__app_label", "codename")) == [
        ("csplatform", "change_storefront")
    ]
    shop = Storefront.objects.get(pk=shop.pk)
    assert Order.objects.get(pk=order.pk).storefront == shop
    assert shop.customers.get() == Order.objects.get(pk=order.pk).customer
    assert shop.key_profiles.get().api_key == api_key
    assert shop.webhook_endpoints.get() == endpoint
