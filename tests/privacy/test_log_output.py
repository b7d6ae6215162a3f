"""Log and error output never holds a full phone number, e-mail address or street address."""

import io
import logging

import pytest
import time_machine

from csplatform.privacy import PiiLogFilter, redact_contact_details
from tests.factories import admin_user

from .journey import EMAIL, NAME, NOW, PHONE, RELATIVE_PHONE, STREET, run_journey

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """Everything the configured console handler writes, at every level, from every logger."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if any(isinstance(f, PiiLogFilter) for f in h.filters))
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), root.level
    quiet = {name: logging.getLogger(name).level for name in ("django", "django.request")}
    root.setLevel(logging.DEBUG)
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        handler.setStream(previous_stream)
        root.setLevel(previous_level)
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


def assert_no_personal_data(text: str) -> None:
    digits = text.replace(" ", "").replace("-", "")
    for secret in (PHONE, RELATIVE_PHONE, EMAIL, EMAIL.upper(), STREET):
        assert secret not in text, secret
        assert secret.replace(" ", "") not in digits, secret


def test_a_full_api_run_logs_no_full_phone_email_or_address(log_output):
    with time_machine.travel(NOW, tick=False):
        journey = run_journey(desk_user=admin_user())
        client = journey.storefront
        # Refused requests log their paths: one carrying an e-mail address, one a phone.
        assert client.get(f"/api/v1/tickets/?customer={EMAIL}").status_code in (200, 404)
        assert client.post(f"/api/v1/customers/{EMAIL}/erasure/", {}).status_code == 404
        assert client.post(f"/api/v1/customers/{PHONE}/erasure/", {}).status_code == 404
        bad = client.put(
            "/api/v1/orders/SO-77009/",
            {"customer": {"external_id": "C-9", "email": f"{PHONE}@@{EMAIL}"}},
            format="json",
        )
        assert bad.status_code == 400
        assert PHONE not in bad.content.decode()  # nor in the error message
        client.post("/api/v1/customers/C-ERASE-1/erasure/", {}, format="json")

    output = log_output.getvalue()
    assert "Not Found" in output  # the run was logged
    assert_no_personal_data(output)
    assert NAME not in output


def test_the_log_filter_masks_phones_and_emails_in_messages_arguments_and_tracebacks(log_output):
    logger = logging.getLogger("csplatform.test")
    logger.warning("call %s or write to %s", "+86 139-1234-5678", EMAIL)
    try:
        raise ValueError(f"no customer with phone {PHONE}")
    except ValueError:
        logger.exception("lookup failed")

    output = log_output.getvalue()
    assert_no_personal_data(output)
    assert "139****5678" in output
    assert "n***@example.net" in output
    assert "ValueError: no customer with phone 139****5678" in output


def test_redaction_leaves_order_numbers_amounts_and_times_alone():
    text = "SO-1000123 paid 208.00 at 2026-03-05 10:00, tracking SF1234567890123"
    assert redact_contact_details(text) == text
