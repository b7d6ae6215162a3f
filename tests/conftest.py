import pytest
import time_machine
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import admin_user, storefront_client


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    """On SQLite, skip the tests marked ``postgres``, saying why each needs PostgreSQL:
    ``@pytest.mark.postgres(reason="row locks: ...")``."""
    if _on_postgres():
        return
    for item in items:
        marker = item.get_closest_marker("postgres")
        if marker is None:
            continue
        why = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        needs = f"needs PostgreSQL ({why})" if why else "needs PostgreSQL"
        item.add_marker(
            pytest.mark.skip(reason=f"{needs}: set DATABASE_URL to a PostgreSQL server")
        )


@pytest.fixture(autouse=True)
def _role_groups_after_flush(request):
    """Transactional tests flush the tables between tests, data-migration rows included:
    put the role groups back so that every test starts from what a migrated database holds."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    from csplatform.roles import sync_role_groups
    from messaging.reference_data import ensure_default_notice_templates
    from tickets.reference_data import (
        ensure_complaint_milestone_targets,
        ensure_default_sla_policies,
        ensure_default_team,
    )

    sync_role_groups(apps)
    ensure_default_team(apps)
    ensure_default_sla_policies(apps)
    ensure_complaint_milestone_targets(apps)
    ensure_default_notice_templates(apps)


@pytest.fixture
def clock(request):
    """The clock stopped at the test module's ``NOW``, for the services that read it when no
    ``now`` is passed (a module uses it as ``usefixtures("clock")`` to stop it for every test)."""
    with time_machine.travel(request.module.NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to the test's own folder (``usefixtures("media")`` in the modules that
    store files)."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def api():
    """An API client with no credentials."""
    return APIClient()


@pytest.fixture
def storefront(db):
    """An API client sending a fresh key of the default storefront."""
    return storefront_client()


@pytest.fixture
def agent_client(client, agent):
    """The browser signed in as the test's ``agent``."""
    client.force_login(agent)
    return client


@pytest.fixture
def admin_client_(client):
    """The browser signed in as a staff user of the admin role (pytest-django's
    ``admin_client`` is a superuser, who passes every permission check)."""
    client.force_login(admin_user(is_staff=True))
    return client


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) that Django's SMTP backend sends to."""
    from tests.messaging.smtp import SmtpServer  # aiosmtpd, a test dependency

    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()
