"""``/healthz/`` answers 200 only when the database and the Celery broker both answer, and 503
naming the one that does not, within two seconds (issue #16, item 6: it said "ok" while Redis
was down)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from tests.redis_server import REDIS_SERVER, PrivateRedis, free_port

ROOT = Path(__file__).resolve().parents[2]


def healthz(client):
    started = time.monotonic()
    response = client.get("/healthz/")
    return response.status_code, response.json(), time.monotonic() - started


@pytest.mark.django_db
def test_with_the_embedded_broker_folder_in_place_all_is_ok(client):
    with override_settings(CELERY_BROKER_URL="filesystem://"):
        status, body, _ = healthz(client)
    assert (status, body) == (200, {"status": "ok", "database": "ok", "broker": "ok"})


@pytest.mark.django_db
def test_a_missing_broker_folder_fails(client, tmp_path):
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(tmp_path / "gone"),
        "data_folder_out": str(tmp_path / "gone"),
    }
    with override_settings(
        CELERY_BROKER_URL="filesystem://", CELERY_BROKER_TRANSPORT_OPTIONS=options
    ):
        status, body, _ = healthz(client)
    assert (status, body) == (503, {"status": "fail", "database": "ok", "broker": "fail"})


@pytest.mark.django_db
def test_a_broker_nobody_answers_at_is_a_503_naming_the_broker_within_two_seconds(client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0"):
        status, body, took = healthz(client)
    assert (status, body) == (503, {"status": "fail", "database": "ok", "broker": "fail"})
    assert took < 2


@pytest.mark.django_db
@pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server on PATH")
def test_a_redis_broker_that_stops_turns_the_health_check_to_503_and_back(client):
    with PrivateRedis() as redis, override_settings(CELERY_BROKER_URL=redis.url):
        assert healthz(client)[:2] == (200, {"status": "ok", "database": "ok", "broker": "ok"})
        redis.stop()
        status, body, took = healthz(client)
        assert (status, body["broker"]) == (503, "fail")
        assert took < 2
        redis.start()
        assert healthz(client)[0] == 200


@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param(f"postgres://postgres@127.0.0.1:{free_port()}/gone", id="postgresql"),
        pytest.param("sqlite:////nonexistent-folder/gone.sqlite3", id="sqlite"),
    ],
)
def test_a_database_nobody_answers_at_is_a_503_naming_the_database(database_url, tmp_path):
    """The real server of `make run`, started with a database it cannot reach."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csplatform.settings.base",
        "DATABASE_URL": database_url,
        "DB_POOL_SIZE": "2",
        "DB_POOL_TIMEOUT": "1",
        "CELERY_BROKER_URL": "filesystem://",
    }
    env.pop("REDIS_URL", None)
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "uvicorn"),
            "csplatform.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        status, body, took = _get_when_up(f"http://127.0.0.1:{port}/healthz/", server, tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()
    assert (status, body) == (503, {"status": "fail", "database": "fail", "broker": "ok"})
    assert took < 3


def _get_when_up(url: str, server: subprocess.Popen, tmp_path: Path):
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if server.poll() is not None:
            raise AssertionError((tmp_path / "server.log").read_text())
        started = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, json.load(response), time.monotonic() - started
        except urllib.error.HTTPError as error:
            return error.code, json.load(error), time.monotonic() - started
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer\n" + (tmp_path / "server.log").read_text())
