"""The API against its own OpenAPI schema, fuzzed (schemathesis), a few examples per
operation: no server errors, answers that match the schema (status code, content type, body),
requests the schema calls valid are accepted and requests it calls invalid are refused.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from csplatform.wsgi import application
from tests.factories import OrderFactory, api_key_header, storefront_api_key

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# A few examples per operation keep CI quick; fuzz harder by hand with API_FUZZ_EXAMPLES=50.
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "5"))
# Text never holds NUL characters (PostgreSQL cannot store them): every string field and
# parameter refuses them with 400, as the schema's description says once for all.
schema.config.generation.update(allow_x00=False)
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Valid requests the schema cannot promise to accept, each refused for a rule no schema states:
# (method, path) -> the fields such a refusal names. Any other refusal still fails the check.
NOT_PROMISED = {
    # A well-formed sign-in with credentials that do not exist (DRF's token contract: 400).
    ("POST", "/api/v1/auth/token/"): {"non_field_errors"},
    # `total` must equal the lines + shipping - discount, and the discount may not exceed the
    # lines + shipping: arithmetic across fields. Each SKU once in `lines`, as for returns.
    ("PUT", "/api/v1/orders/{number}/"): {"total", "discount", "lines"},
    # Each SKU once in `lines`: uniqueness of one property of the items.
    ("POST", "/api/v1/returns/"): {"lines"},
    # `order_number` must name an order of that customer: data the fuzzer cannot know.
    ("POST", "/api/v1/tickets/"): {"order_number"},
    ("POST", "/api/v1/complaints/"): {"order_number"},
    # Exactly one of `ticket`, `order` and `complaint`: a choice across parameters.
    ("GET", "/api/v1/surveys/"): {"non_field_errors"},
    # A webhook `url` is http(s), with labels of at most 63 characters, and (in production)
    # https to a host whose addresses are all public: beyond what `format: uri` says.
    ("POST", "/api/v1/webhooks/"): {"url"},
    ("PATCH", "/api/v1/webhooks/{webhook_id}/"): {"url"},
}
# For a storefront key only: its ticket list needs `customer`, which an agent's does not.
NOT_PROMISED_TO_A_STOREFRONT = {("GET", "/api/v1/tickets/"): {"customer"}}


# State rather than shape, for any operation: an Idempotency-Key the fuzzer already sent with
# another body is 422 `idempotency_key_reused` (api.md), however valid the request.
STATEFUL_REFUSALS = {(422, "idempotency_key_reused")}


def refusal(response) -> tuple[str, set]:
    """The error's code and the fields it names."""
    try:
        body = response.json()
    except ValueError:
        return "", set()
    return body.get("code", ""), set(body.get("errors") or {})


# Invalid requests a principal's answer need not refuse: the storefront's ticket list reads
# `customer` and `page` only, and ignores the agent queue's filters whatever their value.
NOT_READ_BY_A_STOREFRONT = {("GET", "/api/v1/tickets/")}


def data_checks(not_promised: dict, not_read: set = frozenset()) -> list:
    def operation(case) -> tuple[str, str]:
        return case.operation.method.upper(), case.operation.path

    @schemathesis.check
    def positive_data_accepted_unless_not_promised(ctx, response, case):
        code, named = refusal(response)
        if (response.status_code, code) in STATEFUL_REFUSALS:
            return None
        fields = not_promised.get(operation(case))
        if fields and response.status_code == 400 and named <= fields:
            return None
        return positive_data_acceptance(ctx, response, case)

    @schemathesis.check
    def negative_data_rejected_where_read(ctx, response, case):
        if operation(case) in not_read:
            return None
        return negative_data_rejection(ctx, response, case)

    return [positive_data_accepted_unless_not_promised, negative_data_rejected_where_read]


STOREFRONT_CHECKS = [
    *RESPONSE_CHECKS,
    *data_checks(NOT_PROMISED | NOT_PROMISED_TO_A_STOREFRONT, NOT_READ_BY_A_STOREFRONT),
]
AGENT_CHECKS = [*RESPONSE_CHECKS, *data_checks(NOT_PROMISED)]


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
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_the_api_keeps_its_schema_for_a_storefront_key(case, storefront_headers):
    case.call_and_validate(headers=storefront_headers, checks=STOREFRONT_CHECKS)


@pytest.fixture
def agent_headers(db, wsgi_keeps_the_test_connection):
    from rest_framework.authtoken.models import Token

    from tests.factories import TeamFactory, online_agent

    agent = online_agent(TeamFactory(name="Fuzzing team"), username="fuzz.agent")
    return {"Authorization": f"Token {Token.objects.create(user=agent).key}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
def test_the_api_keeps_its_schema_for_an_agent(case, agent_headers):
    case.call_and_validate(headers=agent_headers, checks=AGENT_CHECKS)
