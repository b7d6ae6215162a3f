"""Returns on the desk in a real browser: an agent starts, approves and refunds a small return;
a large one waits for a supervisor, who approves it from the approval queue.

The live server commits for real, so the payout (a Celery task queued on commit, run eagerly in
tests) has succeeded by the time the panel comes back.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.choices import OrderStatus
from refunds.choices import RefundStatus, ReturnStatus
from refunds.models import Refund, ReturnRequest
from tests.e2e.conftest import login
from tests.factories import CustomerFactory, OrderFactory, TicketFactory
from tests.refunds.helpers import default_team, desk_agent, desk_supervisor, file_request

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"


def _delivered_order(number: str, lines) -> object:
    delivered = timezone.now() - timedelta(days=1)
    return OrderFactory(
        number=number,
        customer=CustomerFactory(name="王芳"),
        status=OrderStatus.DELIVERED,
        lines=lines,
        delivered_at=delivered,
        placed_at=delivered - timedelta(days=3),
    )


def test_an_agent_starts_approves_and_refunds_a_small_return(page, screenshot):
    agent = desk_agent(username="li.na", password=PASSWORD)
    order = _delivered_order(
        "SO-3000001",
        [{"sku": "TS-1", "name": "纯棉T恤", "unit_price": Decimal("99.00"), "quantity": 2}],
    )
    ticket = TicketFactory(
        team=default_team(),
        assignee=agent,
        customer=order.customer,
        order=order,
        subject="T恤尺码偏小，想退一件",
    )

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.goto(f"/desk/tickets/{ticket.number}/")
    page.evaluate("window.__noReload = true")

    # Start the return for the customer: one T-shirt, size or fit.
    page.select_option("#start-type", "return_refund")
    page.select_option("#start-reason", "size_fit")
    page.fill("#qty-TS-1", "1")
    screenshot("returns-start-en")
    page.click("#start-return-submit")
    expect(page.locator("#return-status")).to_have_text("Requested")
    expect(page.locator("#return-lines")).to_contain_text("纯棉T恤")
    expect(page.locator("#rule-checks")).to_contain_text("No-reason window ends")
    expect(page.locator("#order-refundable")).to_contain_text("208.00 CNY")
    screenshot("returns-small-requested-en")

    page.click("#return-approve")
    expect(page.locator("#return-status")).to_have_text("Awaiting the goods")
    page.click("#return-receive")
    expect(page.locator("#return-status")).to_have_text("Goods received")
    page.select_option("#inspect-passed", "yes")
    page.click("#return-inspect")
    expect(page.locator("#return-status")).to_have_text("Inspected")
    expect(page.locator("#refund-amount")).to_have_value("99.00")
    page.click("#return-refund")
    expect(page.locator("#return-status")).to_have_text("Refunded")
    expect(page.locator("#return-refunds")).to_contain_text("99.00 CNY")
    expect(page.locator("#return-refunds .rf-succeeded")).to_have_text("Succeeded")
    expect(page.locator("#return-refunded")).to_have_text("99.00 CNY")
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    screenshot("returns-small-refunded-en")

    # The same panel in Chinese.
    page.select_option("select[name=language]", "zh-hans")
    expect(page.locator("#return-status")).to_have_text("已退款")
    expect(page.locator("#rule-checks")).to_contain_text("无理由退货截止")
    screenshot("returns-small-refunded-zh")

    request = ReturnRequest.objects.get()
    assert request.ticket_id == ticket.pk
    assert request.status == ReturnStatus.REFUNDED
    refund = Refund.objects.get()
    assert refund.status == RefundStatus.SUCCEEDED
    assert refund.amount == Decimal("99.00")


def test_a_large_return_waits_for_a_supervisor_who_approves_it(page, screenshot):
    desk_agent(username="li.na", password=PASSWORD, first_name="娜", last_name="李")
    desk_supervisor(username="zhao.lei", password=PASSWORD, first_name="磊", last_name="赵")
    order = _delivered_order(
        "SO-3000002",
        [{"sku": "TV-1", "name": "65寸电视", "unit_price": Decimal("4999.00"), "quantity": 1}],
    )
    request = file_request(
        order, lines=[("TV-1", 1)], reason="quality", now=timezone.now(), description="屏幕有坏点"
    )
    assert request.status == ReturnStatus.REQUESTED

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    expect(page.locator("#nav-return-approvals")).to_have_count(0)
    page.goto(f"/desk/tickets/{request.ticket.number}/")
    page.fill("input[name=reason][aria-label='Reason (optional)']", "坏点属实")
    page.click("#return-approve")
    expect(page.locator("#return-notice")).to_contain_text("Sent to the supervisor approval queue")
    expect(page.locator("#return-waits")).to_contain_text("李娜")
    expect(page.locator("#return-status")).to_have_text("Requested")
    screenshot("returns-large-proposed-en")

    page.click("button:has-text('Log out')")
    login(page, "zhao.lei")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.click("#nav-return-approvals")
    page.wait_for_url(re.compile(r"/desk/returns/approvals/$"))
    row = page.locator(f"#approval-proposals tr[data-return='{request.public_id}']")
    expect(row).to_contain_text("4999.00")
    expect(row).to_contain_text("李娜")
    screenshot("returns-approval-queue-en")

    row.locator("a").click()
    page.wait_for_url(re.compile(rf"/desk/tickets/{request.ticket.number}/$"))
    page.click("#return-approve")
    expect(page.locator("#return-status")).to_have_text("Awaiting the goods")
    expect(page.locator("#return-decision")).to_contain_text("赵磊")
    screenshot("returns-large-approved-en")

    page.goto("/desk/returns/approvals/")
    expect(page.locator("#approval-proposals")).to_contain_text("Nothing is waiting.")
    request.refresh_from_db()
    assert request.status == ReturnStatus.AWAITING_RETURN
    assert request.decided_by.username == "zhao.lei"
    assert request.proposed_by.username == "li.na"


def test_an_agent_adds_evidence_on_the_return_panel(page, screenshot, settings, tmp_path):
    from tests.factories import PDF_BYTES, PNG_BYTES

    settings.MEDIA_ROOT = tmp_path
    desk_agent(username="li.na", password=PASSWORD)
    order = _delivered_order(
        "SO-3000009",
        [{"sku": "CUP-1", "name": "陶瓷杯", "unit_price": Decimal("59.00"), "quantity": 1}],
    )
    request = file_request(order, lines=(("CUP-1", 1),), reason="damaged_in_transit")

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.goto(f"/desk/tickets/{request.ticket.number}/")
    page.evaluate("window.__noReload = true")
    page.set_input_files(
        "#evidence-files",
        [
            {"name": "裂纹.png", "mimeType": "image/png", "buffer": PNG_BYTES},
            {"name": "签收单.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
        ],
    )
    page.click("#evidence-upload")

    expect(page.locator("#return-notice")).to_have_text("The evidence is added: 2 files in all.")
    evidence = page.locator("#return-evidence")
    expect(evidence.locator("img.thumb")).to_have_count(1)
    expect(evidence.get_by_role("link", name="签收单.pdf")).to_be_visible()
    thumb = page.locator("#return-evidence img.thumb")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") > 0
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"
    screenshot("returns-evidence-en")
    assert ReturnRequest.objects.get(pk=request.pk).evidence.count() == 2
