import pytest
from django.conf import settings


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
    from tickets.reference_data import (
        ensure_complaint_milestone_targets,
        ensure_default_sla_policies,
        ensure_default_team,
    )

    sync_role_groups(apps)
    ensure_default_team(apps)
    ensure_default_sla_policies(apps)
    ensure_complaint_milestone_targets(apps)
