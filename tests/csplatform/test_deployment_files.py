"""The deployment files describe a working stack (no Docker engine runs on the test machines,
so the compose file is checked as data: what `docker compose config` would reject)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_stack_has_postgres_redis_web_worker_and_beat():
    assert {"db", "redis", "web", "worker", "beat"} <= set(compose()["services"])


def test_every_long_running_service_has_a_health_check():
    services = compose()["services"]
    for name in ("db", "redis", "web", "worker", "beat"):
        check = services[name]["healthcheck"]
        assert check["test"], name


def test_the_app_services_wait_for_healthy_database_and_redis_and_the_migrations():
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    app = services["migrate"]
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"


def test_the_app_runs_production_settings_with_the_secret_from_the_environment():
    env = compose()["services"]["web"]["environment"]
    assert env["DJANGO_SETTINGS_MODULE"] == "csplatform.settings.production"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # compose refuses to start without it
    assert env["DATABASE_URL"].startswith("postgres://")
    assert env["REDIS_URL"].startswith("redis://")
    assert env["OTP_REQUIRED_FOR_STAFF"] == "${OTP_REQUIRED_FOR_STAFF:-true}"


def test_the_image_runs_gunicorn_as_an_unprivileged_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER app" in dockerfile
    assert "gunicorn" in dockerfile
    assert "requirements.lock" in dockerfile
