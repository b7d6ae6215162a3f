"""Severity grading (admin-editable rules) and repeat detection of new complaints."""

from __future__ import annotations

from decimal import Decimal

import pytest

from complaints.models import SeverityRules
from complaints.rules import grade
from tests.complaints.helpers import DAY, T0, delivered_order, file_complaint
from tests.factories import CustomerFactory, OrderFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("desk")]


def test_an_ordinary_complaint_is_minor_and_keeps_a_normal_ticket():
    complaint = file_complaint()
    assert (complaint.severity, complaint.severity_reasons) == ("minor", [])
    assert complaint.ticket.priority == "normal"


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        ("你们泄露了我的个人信息", "privacy"),
        ("充电器起火了，差点受伤", "safety"),
        ("再不处理我就找律师起诉你们", "legal_threat"),
        ("I will take legal action", "legal_threat"),
    ],
)
def test_privacy_safety_and_legal_threats_are_critical(description, reason):
    complaint = file_complaint(category="other", description=description)
    assert complaint.severity == "critical"
    assert reason in complaint.severity_reasons
    assert complaint.ticket.priority == "urgent"


def test_the_privacy_category_is_critical_whatever_the_words():
    complaint = file_complaint(category="privacy", description="客服把我的订单发给了别人")
    assert (complaint.severity, complaint.severity_reasons) == ("critical", ["privacy"])


def test_a_vip_customer_is_major():
    complaint = file_complaint(customer=CustomerFactory(tier="vip"))
    assert (complaint.severity, complaint.severity_reasons) == ("major", ["vip"])
    assert complaint.ticket.priority == "high"


def test_an_order_above_the_amount_limit_is_major_and_at_the_limit_is_not():
    big = OrderFactory(lines=[{"unit_price": Decimal("500.00")}], shipping_fee=Decimal("0.01"))
    at_limit = OrderFactory(lines=[{"unit_price": Decimal("490.00")}], shipping_fee=Decimal("10"))
    assert file_complaint(order=big).severity == "major"
    assert file_complaint(order=at_limit).severity == "minor"


def test_the_rules_are_edited_in_admin_and_apply_to_the_next_complaint():
    rules = SeverityRules.load()
    rules.amount_limit = Decimal("50.00")
    rules.legal_keywords = ["媒体"]
    rules.save()
    assert file_complaint(order=OrderFactory()).severity_reasons == ["amount_above_limit"]
    assert file_complaint(category="other", description="我要找媒体").severity == "critical"
    assert file_complaint(category="logistics", description="律师").severity == "minor"


def test_a_repeat_complaint_is_major_and_the_third_within_30_days_is_critical():
    customer = CustomerFactory()
    first = file_complaint(customer=customer, category="logistics", now=T0)
    second = file_complaint(customer=customer, category="logistics", now=T0 + 10 * DAY)
    third = file_complaint(customer=customer, category="service_attitude", now=T0 + 20 * DAY)
    assert first.severity == "minor"
    assert (second.severity, second.severity_reasons) == ("major", ["repeat"])
    assert (third.severity, third.severity_reasons) == ("critical", ["nth_complaint"])


def test_complaints_older_than_the_window_do_not_count_towards_the_third():
    customer = CustomerFactory()
    file_complaint(customer=customer, category="logistics", now=T0)
    file_complaint(customer=customer, category="price_dispute", now=T0 + 5 * DAY)
    late = file_complaint(customer=customer, category="service_attitude", now=T0 + 31 * DAY)
    assert late.severity == "minor"


def test_grading_is_a_pure_function_of_the_facts_and_the_rules():
    rules = SeverityRules(amount_limit=Decimal("100"), critical_complaint_count=3)
    kwargs = {"rules": rules, "category": "other", "description": "x", "is_repeat": False}
    assert grade(
        customer_tier="vip", amount=Decimal("101"), earlier_in_window=0, **kwargs
    ).reasons == ["vip", "amount_above_limit"]
    assert (
        grade(customer_tier="regular", amount=None, earlier_in_window=2, **kwargs).severity
        == "critical"
    )
    assert (
        grade(customer_tier="regular", amount=None, earlier_in_window=1, **kwargs).severity
        == "minor"
    )


def test_a_complaint_about_the_same_order_is_a_repeat_even_after_the_window():
    order = delivered_order()
    first = file_complaint(order=order, category="product_quality", now=T0)
    again = file_complaint(order=order, category="logistics", now=T0 + 60 * DAY)
    assert again.is_repeat
    assert list(again.repeat_of.all()) == [first]
    assert list(first.repeated_by.all()) == [again]
    assert not first.is_repeat


def test_the_same_category_within_30_days_is_a_repeat_and_after_it_is_not():
    customer = CustomerFactory()
    first = file_complaint(customer=customer, category="logistics", now=T0)
    within = file_complaint(customer=customer, category="logistics", now=T0 + 30 * DAY)
    after = file_complaint(customer=customer, category="logistics", now=T0 + 61 * DAY)
    assert list(within.repeat_of.all()) == [first]
    assert list(after.repeat_of.all()) == []
    assert not after.is_repeat


def test_another_customers_complaints_are_never_repeats():
    order = delivered_order()
    file_complaint(order=order, category="logistics", now=T0)
    other = file_complaint(customer=CustomerFactory(), category="logistics", now=T0 + DAY)
    assert not other.is_repeat
    assert other.severity == "minor"


def test_a_repeat_links_every_earlier_complaint_it_repeats():
    customer = CustomerFactory()
    order = delivered_order(customer=customer)
    a = file_complaint(customer=customer, order=order, category="product_quality", now=T0)
    b = file_complaint(customer=customer, category="logistics", now=T0 + DAY)
    c = file_complaint(customer=customer, order=order, category="logistics", now=T0 + 2 * DAY)
    assert list(c.repeat_of.order_by("created_at")) == [a, b]


def test_an_agent_regrades_and_the_ticket_priority_rises_but_never_falls():
    complaint = file_complaint(customer=CustomerFactory(tier="vip"))
    from complaints.services import complaint_grade
    from csplatform.actors import Actor

    complaint_grade(complaint=complaint, severity="critical", actor=Actor.system(), now=T0)
    complaint.ticket.refresh_from_db()
    assert complaint.ticket.priority == "urgent"
    complaint_grade(complaint=complaint, severity="minor", actor=Actor.system(), now=T0)
    complaint.ticket.refresh_from_db()
    assert complaint.ticket.priority == "urgent"
