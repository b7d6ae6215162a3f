"""The API against its own OpenAPI schema, fuzzed (schemathesis), a few examples per
operation: no server errors, answers that match the schema (status code, content type, body).
"""

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
from tests.factories import OrderFactory, api_key_header, storefront_api_key

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Requests go straight to the WSGI application: keep it from closing the test's database
    connection at the end of each request, as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def storefront_headers(db, wsgi_keeps_the_test_connection):
    OrderFactory(number="SO-1001")
    _, key = storefront_api_key(name="fuzzing shop")
    return {"Authorization": api_key_header(key)["HTTP_AUTHORIZATION"]}


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_schema_for_a_storefront_key(case, storefront_headers):
    case.call_and_validate(headers=storefront_headers, checks=RESPONSE_CHECKS)


@pytest.fixture
def agent_headers(db, wsgi_keeps_the_test_connection):
    from rest_framework.authtoken.models import Token

    from tests.factories import TeamFactory, online_agent

    agent = online_agent(TeamFactory(name="Fuzzing team"), username="fuzz.agent")
    return {"Authorization": f"Token {Token.objects.create(user=agent).key}"}


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_schema_for_an_agent(case, agent_headers):
    case.call_and_validate(headers=agent_headers, checks=RESPONSE_CHECKS)
