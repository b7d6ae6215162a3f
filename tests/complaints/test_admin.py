"""Admins edit the complaint rules and the senior agents; complaints are read-only there."""

from __future__ import annotations

from decimal import Decimal

import pytest

from complaints.models import SeniorAgent, SeverityRules
from tests.complaints.helpers import Desk, file_complaint
from tests.factories import admin_user, agent_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(admin_user(is_staff=True))
    return client


def test_the_rules_are_one_row_edited_in_admin(admin_client):
    listing = admin_client.get("/admin/complaints/severityrules/")
    assert listing.status_code == 200
    rules = SeverityRules.load()
    response = admin_client.post(
        f"/admin/complaints/severityrules/{rules.pk}/change/",
        {
            "privacy_keywords": '["隐私"]',
            "safety_keywords": '["起火"]',
            "legal_keywords": '["律师"]',
            "amount_limit": "800.00",
            "repeat_window_days": "30",
            "critical_complaint_count": "3",
            "confirmation_hours": "72",
            "reopen_days": "15",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rules.refresh_from_db()
    assert (rules.amount_limit, rules.legal_keywords) == (Decimal("800.00"), ["律师"])
    assert SeverityRules.objects.count() == 1
    assert admin_client.get("/admin/complaints/severityrules/add/").status_code == 403


def test_admins_flag_senior_agents(admin_client):
    user = agent_user(username="wang.senior")
    response = admin_client.post("/admin/complaints/senioragent/add/", {"user": user.pk})
    assert response.status_code == 302
    assert SeniorAgent.objects.get().user == user


def test_complaints_are_listed_and_read_only_in_admin(admin_client):
    Desk()
    complaint = file_complaint()
    assert complaint.number in admin_client.get("/admin/complaints/complaint/").content.decode()
    page = admin_client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
