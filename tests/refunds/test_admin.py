"""The refunds admin: one rules row, category rules, read-only requests and refunds."""

from decimal import Decimal

import pytest
from django.urls import reverse

from refunds.models import CategoryRule, Refund, RefundRules

from .helpers import delivered_order, file_request

pytestmark = pytest.mark.django_db


def test_the_rules_are_one_row_that_cannot_be_deleted(admin_client_):
    add = reverse("admin:refunds_refundrules_add")
    assert admin_client_.get(add).status_code == 200
    rules = RefundRules.load()
    assert admin_client_.get(add).status_code == 403
    change = reverse("admin:refunds_refundrules_change", args=[rules.pk])
    page = admin_client_.get(change)
    assert page.status_code == 200
    assert b"no_reason" in page.content
    delete = reverse("admin:refunds_refundrules_delete", args=[rules.pk])
    assert admin_client_.get(delete).status_code == 403


def test_the_auto_approve_limit_may_not_exceed_the_supervisor_limit(admin_client_):
    rules = RefundRules.load()
    data = {
        "no_reason_days": 7,
        "warranty_days": 30,
        "appeal_days": 5,
        "auto_approve_limit": "2000.00",
        "auto_approve_reasons": ["quality"],
        "supervisor_limit": "1000.00",
        "response_timeout_hours": 48,
        "return_shipping_days": 7,
        "refund_working_days": 3,
    }
    change = reverse("admin:refunds_refundrules_change", args=[rules.pk])
    refused = admin_client_.post(change, data)
    assert refused.status_code == 200
    assert b"supervisor" in refused.content
    admin_client_.post(change, {**data, "auto_approve_limit": "300.00"})
    rules.refresh_from_db()
    assert rules.auto_approve_limit == Decimal("300.00")
    assert rules.auto_approve_reasons == ["quality"]


def test_category_rules_are_listed_and_added(admin_client_):
    CategoryRule.objects.create(category="fresh", no_reason_returns=False)
    page = admin_client_.get(reverse("admin:refunds_categoryrule_changelist"))
    assert page.status_code == 200
    assert b"fresh" in page.content


def test_requests_and_refunds_are_shown_read_only(admin_client_):
    request = file_request(delivered_order(), type="refund_only", reason="quality")
    refund = Refund.objects.get()
    Refund.objects.filter(pk=refund.pk).update(status="failed", needs_attention=True)
    changelist = admin_client_.get(reverse("admin:refunds_returnrequest_changelist"))
    assert changelist.status_code == 200
    assert request.public_id.encode() in changelist.content
    detail = admin_client_.get(reverse("admin:refunds_returnrequest_change", args=[request.pk]))
    assert detail.status_code == 200
    assert b"refund_only" in detail.content or b"Refund only" in detail.content
    assert admin_client_.get(reverse("admin:refunds_returnrequest_add")).status_code == 403
    refunds = admin_client_.get(
        reverse("admin:refunds_refund_changelist"), {"needs_attention__exact": "1"}
    )
    assert refunds.status_code == 200
    assert b"99.00" in refunds.content
    assert admin_client_.get(reverse("admin:refunds_refund_add")).status_code == 403
