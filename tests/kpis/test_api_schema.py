"""The KPI endpoints against their OpenAPI description, fuzzed as a supervisor (the shared fuzz
test signs in as a storefront key and an agent, who only get 403 here)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from csplatform.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex="kpis")


@pytest.fixture
def supervisor_headers(db):
    from rest_framework.authtoken.models import Token

    from tests.factories import TeamFactory, supervisor_user

    boss = supervisor_user(username="fuzz.boss")
    TeamFactory(name="Fuzzed", supervisor=boss)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Token {Token.objects.create(user=boss).key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_kpi_api_keeps_its_schema_for_a_supervisor(case, supervisor_headers):
    case.call_and_validate(
        headers=supervisor_headers,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
