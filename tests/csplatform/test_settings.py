"""Production settings fail closed; demo accounts stay out where not allowed; masking."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate

from csplatform.privacy import mask_email, mask_name, mask_phone
from tests.factories import DEFAULT_PASSWORD, agent_user, demo_user

BASE_DIR = Path(__file__).resolve().parents[2]


def production_env(**variables: str) -> dict[str, str]:
    """A clean environment: nothing from the developer's shell leaks into the settings."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "csplatform.settings.production",
        # Real-looking personal-data keys; tests/privacy checks the refusal without them.
        "PII_ENCRYPTION_KEYS": secrets.token_urlsafe(40),
        "PII_BLIND_INDEX_KEY": secrets.token_urlsafe(40),
        **variables,
    }


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def import_production(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run(["-c", "import csplatform.settings.production"], env)


def random_secret_key() -> str:
    return secrets.token_urlsafe(45)[:60]


# --- Production settings -----------------------------------------------------------------------


def test_production_settings_refuse_to_load_without_a_secret_key():
    result = import_production(production_env(ALLOWED_HOSTS="example.com"))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "secret_key",
    ["", "dev-only-not-secret-csplatform", "short-but-not-empty"],
    ids=["empty", "the development default", "too short"],
)
def test_production_settings_refuse_an_unsafe_secret_key(secret_key):
    result = import_production(production_env(SECRET_KEY=secret_key, ALLOWED_HOSTS="example.com"))

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_refuse_to_load_without_allowed_hosts():
    result = import_production(production_env(SECRET_KEY=random_secret_key()))

    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_settings_load_with_a_long_random_key_and_allowed_hosts():
    secret_key = random_secret_key()
    assert len(secret_key) == 60

    result = import_production(production_env(SECRET_KEY=secret_key, ALLOWED_HOSTS="example.com"))

    assert result.returncode == 0, result.stderr


def test_the_deploy_check_passes_without_a_warning():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        production_env(SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="example.com"),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_do_not_debug_nor_allow_demo_accounts():
    code = (
        "import csplatform.settings.production as s; "
        "print(s.DEBUG, s.DEMO_ACCOUNTS_ALLOWED, s.ALLOWED_HOSTS)"
    )
    result = run(
        ["-c", code],
        production_env(SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="a.example.com,b.example.com"),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False ['a.example.com', 'b.example.com']"


def test_the_test_client_host_is_allowed_in_tests(client, settings):
    # pytest-django's test environment adds Django's "testserver" to ALLOWED_HOSTS.
    assert "testserver" in settings.ALLOWED_HOSTS
    assert client.get("/login/").status_code == 200


# --- Demo accounts -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_demo_account_cannot_log_in_where_demo_accounts_are_not_allowed(settings):
    settings.DEMO_ACCOUNTS_ALLOWED = False
    demo_user(username="demo-agent")

    assert authenticate(username="demo-agent", password=DEFAULT_PASSWORD) is None


@pytest.mark.django_db
def test_a_demo_account_can_log_in_where_demo_accounts_are_allowed(settings):
    settings.DEMO_ACCOUNTS_ALLOWED = True
    user = demo_user(username="demo-agent")

    assert authenticate(username="demo-agent", password=DEFAULT_PASSWORD) == user


@pytest.mark.django_db
def test_a_real_account_can_log_in_where_demo_accounts_are_not_allowed(settings):
    settings.DEMO_ACCOUNTS_ALLOWED = False
    user = agent_user(username="li.na")

    assert authenticate(username="li.na", password=DEFAULT_PASSWORD) == user


@pytest.mark.django_db
def test_the_login_page_refuses_a_demo_account_where_demo_accounts_are_not_allowed(
    client, settings
):
    settings.DEMO_ACCOUNTS_ALLOWED = False
    demo_user(username="demo-agent")

    response = client.post("/login/", {"username": "demo-agent", "password": DEFAULT_PASSWORD})

    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in client.session


# --- Masking -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812348000", "138****8000"),
        ("138 1234 8000", "138****8000"),
        ("138-1234-8000", "138****8000"),
        ("021-5555666", "02******66"),
        ("12345", "***45"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["13812348000", "+86 138 1234 8000", "0571-8888666"])
def test_a_masked_phone_hides_the_middle_digits(phone):
    digits = "".join(ch for ch in phone if ch.isdigit())
    masked = mask_phone(phone)

    assert "*" in masked
    assert digits not in masked.replace("*", "")
    assert sum(ch.isdigit() for ch in masked) <= 7


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("zhang.wei@example.com", "z***@example.com"),
        ("a@b.cn", "a***@b.cn"),
        ("no-at-sign", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_email(email, masked):
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张伟", "张*"),
        ("欧阳娜娜", "欧***"),
        ("张", "张*"),
        ("Li Na", "L***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked
