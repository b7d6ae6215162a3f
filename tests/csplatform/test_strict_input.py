"""Requests are read as strictly as the OpenAPI schema describes them: a value of the wrong JSON
type is refused field by field (no coercion of numbers into text), required text may not be
blank, and the schema says so (minLength, patterns, enums, minItems)."""

import re
from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from complaints.api.serializers import ComplaintPatchInputSerializer
from csplatform.api.strict import StrictSerializer
from orders.api.serializers import OrderPutInputSerializer
from refunds.api.serializers import RefundCreateInputSerializer
from tests.factories import storefront_client
from tickets.api.serializers import MessageInputSerializer, TicketPatchInputSerializer


class Example(StrictSerializer):
    text = serializers.CharField()
    count = serializers.IntegerField(required=False)
    flag = serializers.BooleanField(required=False)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    when = serializers.DateTimeField(required=False)


def errors(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    assert not serializer.is_valid()
    return serializer.errors


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"text": 0}, "text", "Not a valid string."),
        ({"text": "x", "count": "12"}, "count", "A valid integer is required."),
        ({"text": "x", "flag": "true"}, "flag", "Must be a valid boolean."),
        ({"text": "x", "flag": 1}, "flag", "Must be a valid boolean."),
        ({"text": "x", "when": 1700000000}, "when", "Datetime has wrong format."),
        ({"text": "x", "amount": True}, "amount", "A valid number is required."),
    ],
)
def test_a_value_of_the_wrong_json_type_is_refused_with_the_fields_message(data, field, message):
    assert str(errors(Example, data)[field][0]).startswith(message)


def test_list_items_are_checked_one_by_one():
    assert errors(Example, {"text": "x", "tags": ["a", 5]})["tags"] == {1: ["Not a valid string."]}


def test_a_type_error_and_other_errors_are_reported_together():
    found = errors(Example, {"count": "1"})
    assert set(found) == {"text", "count"}


def test_values_of_the_right_type_are_read_as_before():
    serializer = Example(data={"text": " x ", "count": 2, "flag": False, "amount": 0.1})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {
        "text": "x",
        "count": 2,
        "flag": False,
        "amount": Decimal("0.10"),
    }


def test_choices_keep_their_json_type():
    assert "escalation_level" in errors(ComplaintPatchInputSerializer, {"escalation_level": "2"})
    assert "status" in errors(TicketPatchInputSerializer, {"status": 1})


def test_form_data_is_still_read_by_drf():
    from django.http import QueryDict

    serializer = MessageInputSerializer(data=QueryDict("body=hello&internal=true"))
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["internal"] is True


@pytest.mark.django_db
def test_a_number_as_a_ticket_body_is_400_naming_the_field():
    response = storefront_client().post(
        "/api/v1/tickets/",
        {
            "customer": {"external_id": "C-1"},
            "kind": "inquiry",
            "channel": "web",
            "subject": "Hello",
            "body": 0,
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"body": ["Not a valid string."]}


# --- The schema says the same -------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def components(openapi) -> dict:
    return openapi["components"]["schemas"]


def test_required_text_is_not_blank_in_the_schema(components):
    body = components["TicketCreateInputRequest"]["properties"]["body"]
    assert body["minLength"] == 1
    assert body["pattern"] == r"\S"
    optional = components["TicketCreateInputRequest"]["properties"]["order_number"]
    assert "minLength" not in optional
    assert "pattern" not in optional
    assert components["OrderPutInputRequest"]["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"


def test_non_empty_lists_have_min_items_in_the_schema(components):
    lines = components["OrderPutInputRequest"]["properties"]["lines"]
    assert lines["minItems"] == 1
    assert lines["maxItems"] == 500


@pytest.mark.parametrize(
    ("serializer_class", "field", "valid", "invalid"),
    [
        (OrderPutInputSerializer, "total", ["0", "12.5", "9999999999.99"], ["", "-1", "1.234"]),
        (
            RefundCreateInputSerializer,
            "amount",
            ["0.01", "0.5", "10", "00.09", ".5"],
            ["0", "0.00", ".0", "", "0.070", "00000000.070", "0.001"],
        ),
    ],
)
def test_money_patterns_match_what_the_serializer_takes(
    components, serializer_class, field, valid, invalid
):
    name = f"{serializer_class.__name__.removesuffix('Serializer')}Request"
    string, number = components[name]["properties"][field]["anyOf"]
    assert number["type"] == "number"
    assert number["multipleOf"] == 0.01
    for text in valid:
        assert re.search(string["pattern"], text), text
        serializer_class().fields[field].run_validation(text)
    for text in invalid:
        assert not re.search(string["pattern"], text), text
        with pytest.raises(serializers.ValidationError):
            serializer_class().fields[field].run_validation(text)


def test_the_queue_filters_are_enums_and_pages_start_at_1(openapi):
    operation = openapi["paths"]["/api/v1/tickets/"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert "urgent" in parameters["priority"]["items"]["enum"]
    assert parameters["sla"]["enum"] == ["", "breached", "breaching_soon"]
    assert parameters["page"] == {"type": "integer", "minimum": 1}
    returns = openapi["paths"]["/api/v1/returns/"]["get"]
    parameters = {p["name"]: p["schema"] for p in returns["parameters"]}
    # The blank is "not given", as the form reads it.
    assert parameters["needs_supervisor"]["enum"] == ["", "0", "1", "false", "true"]


def test_operations_that_take_a_body_document_415(openapi):
    token = openapi["paths"]["/api/v1/auth/token/"]["post"]
    assert "415" in token["responses"]
    assert "415" not in openapi["paths"]["/api/v1/tickets/"]["get"]["responses"]


@pytest.mark.parametrize(
    ("moment", "valid"),
    [
        ("2000-01-01T00:03:00+01:04", True),  # 1999 in UTC, 2000 as written
        ("2099-12-31T23:59:59-12:00", True),
        ("1999-12-31T23:59:59Z", False),
        ("2100-01-01T00:00:00+14:00", False),
        ("0003-01-01T00:00:00+08:00", False),
    ],
)
def test_a_moment_is_taken_when_its_year_as_written_is_2000_to_2099(openapi, moment, valid):
    from csplatform.api.strict import MomentField

    schema = openapi["components"]["schemas"]["OrderPutInputRequest"]["properties"]["placed_at"]
    assert bool(re.search(schema["pattern"], moment)) is valid
    if valid:
        MomentField().run_validation(moment)
    else:
        with pytest.raises(serializers.ValidationError):
            MomentField().run_validation(moment)


@pytest.mark.django_db
def test_a_page_that_is_not_a_whole_number_from_1_is_400():
    from tests.factories import TeamFactory, online_agent

    client = APIClient()
    client.force_authenticate(online_agent(TeamFactory()))
    for page in ("0", "-1", "null", "1.5"):
        response = client.get(f"/api/v1/tickets/?page={page}")
        assert response.status_code == 400, page
        assert "page" in response.json()["errors"], page
    assert client.get("/api/v1/tickets/?page=3").status_code == 200
