"""With the throttles' shared cache (Redis) down, the API still answers: each process counts
requests in its own memory, at the same rates, and says so in the log once, not per request.

A private redis-server on a free port is the cache here; the test stops and starts it.
"""

import logging

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from csplatform.api import throttling
from tests.factories import OrderFactory, api_key_header, storefront_api_key
from tests.redis_server import REDIS_SERVER, PrivateRedis

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server on PATH"),
]


@pytest.fixture
def redis():
    with PrivateRedis() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_throttle_state(monkeypatch):
    monkeypatch.setattr(throttling, "_shared_down_until", 0.0, raising=False)
    monkeypatch.setattr(throttling, "_warned_at", None, raising=False)
    local = getattr(throttling, "_local_counts", None)
    if local is not None:
        local.clear()
    yield
    if local is not None:
        local.clear()


def redis_cache(url: str):
    return override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        },
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"storefront": "3/min", "desk": None, "anonymous": None},
        },
    )


def test_with_the_throttle_cache_down_the_api_answers_counts_locally_and_warns_once(redis, caplog):
    order = OrderFactory()
    _, key = storefront_api_key(name="shop")

    def get():
        return APIClient().get(f"/api/v1/orders/{order.number}/", **api_key_header(key))

    with redis_cache(redis.url):
        from django.core.cache import cache

        assert get().status_code == 200
        assert any(k.startswith(b":1:throttle_storefront_") for k in _redis_keys(redis))
        cache.close()
        redis.stop()
        with caplog.at_level(logging.WARNING, logger="csplatform.api.throttling"):
            answers = [get() for _ in range(4)]

    # Not a 500: the same rate, counted in this process from the moment Redis went away.
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].json()["number"] == order.number
    warnings = [r for r in caplog.records if r.name == "csplatform.api.throttling"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "shared cache failed" in warnings[0].getMessage()


def test_the_shared_cache_is_used_again_once_redis_is_back(redis, monkeypatch):
    order = OrderFactory()
    _, key = storefront_api_key(name="shop")

    def get():
        return APIClient().get(f"/api/v1/orders/{order.number}/", **api_key_header(key))

    with redis_cache(redis.url):
        from django.core.cache import cache

        redis.stop()
        assert get().status_code == 200  # counted locally
        cache.close()
        redis.start()
        monkeypatch.setattr(throttling, "_shared_down_until", 0.0, raising=False)  # LOCAL_FOR on
        assert get().status_code == 200
        assert any(k.startswith(b":1:throttle_storefront_") for k in _redis_keys(redis))


def _redis_keys(redis: PrivateRedis) -> list[bytes]:
    import redis as redis_client

    return redis_client.Redis.from_url(redis.url).keys("*")
