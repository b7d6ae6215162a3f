"""The ticket desk in a real browser: the queue, the ticket page, bulk changes, two languages.

Every action after the first page load happens without a page reload: a marker set on
``window`` must survive it (a reload would wipe it).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from csplatform.actors import Actor
from tests.e2e.conftest import login
from tests.factories import (
    WARN_BEFORE_DUE,
    CannedReplyFactory,
    CustomerFactory,
    OrderFactory,
    ShipmentFactory,
    TeamFactory,
    TicketFactory,
    online_agent,
    supervisor_user,
)
from tickets import services
from tickets.choices import Presence, TicketStatus
from tickets.models import AgentProfile, Team, Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("_expect_waits_like_the_page"),
]

PASSWORD = "secret-pass-123"


def _default_team() -> Team:
    # New tickets without a routing rule land here (a data migration creates it).
    return Team.objects.get(name="General service")


def _customer_ticket(subject: str = "快递三天没有更新", *, due_in=timedelta(hours=3)) -> Ticket:
    customer = CustomerFactory(name="王芳", phone="13912345678", tier="vip")
    order = OrderFactory(number="SO-2000001", customer=customer, status="shipped")
    ShipmentFactory(order=order, carrier="顺丰速运", tracking_number="SF1234567890")
    ticket = services.ticket_create(
        customer=customer,
        order=order,
        kind="order_issue",
        channel="chat",
        subject=subject,
        body="你好，我的快递三天没动了，能帮我查一下吗？",
        actor=Actor.system("storefront"),
    )
    due = timezone.now() + due_in
    Ticket.objects.filter(pk=ticket.pk).update(next_due_at=due, next_warn_at=due - WARN_BEFORE_DUE)
    return ticket


def _no_reload_marker(page) -> None:
    page.evaluate("window.__noReload = true")


def _assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__noReload === true"), "the page was reloaded"


def test_an_agent_replies_with_a_canned_reply_sets_pending_and_solves(page, screenshot):
    agent = online_agent(_default_team(), username="li.na", password=PASSWORD)
    CannedReplyFactory(
        title="物流查询",
        body="您好 {{ customer.name }}，您的订单 {{ order.number }} 已由顺丰发出，"
        "运单号 {{ shipment.tracking_number }}。",
    )
    TicketFactory(team=_default_team(), assignee=agent, subject="发票抬头写错了")
    ticket = _customer_ticket()
    assert ticket.assignee_id == agent.pk  # auto-assigned: the only online agent of the team

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    rows = page.locator("[data-queue-rows] tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f"tr[data-number='{ticket.number}'] .sla")).to_have_class(
        re.compile("sla-ok")
    )
    screenshot("desk-queue-en")

    # Find it by the order number, then open it from the keyboard.
    _no_reload_marker(page)
    page.keyboard.press("/")
    page.keyboard.type("SO-2000001")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(1)
    _assert_not_reloaded(page)
    page.keyboard.press("Escape")  # leave the search box: letters are shortcuts again
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_have_attribute("data-number", ticket.number)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/desk/tickets/{ticket.number}/\?queue="))

    assert page.locator("#customer-phone").inner_text() == "139****5678"
    assert "13912345678" not in page.content()
    expect(page.locator("#order-panel")).to_contain_text("SF1234567890")

    # The canned reply fills in the customer, the order and the tracking number.
    _no_reload_marker(page)
    page.select_option("[data-canned-picker]", label="物流查询")
    expect(page.locator("#reply-body")).to_have_value(
        "您好 王芳，您的订单 SO-2000001 已由顺丰发出，运单号 SF1234567890。"
    )
    page.get_by_role("button", name="Reply and set pending").click()
    expect(page.locator("#ticket-status")).to_have_text("Pending")
    expect(page.locator("#conversation .msg-agent")).to_contain_text("运单号 SF1234567890")
    expect(page.locator("#reply-body")).to_have_value("")
    expect(page.locator("#ticket-timeline")).to_contain_text("Pending")

    # An internal note looks different and does not go to the customer.
    page.keyboard.press("r")
    page.keyboard.type("客户是 VIP，已加急联系顺丰")
    page.get_by_role("button", name="Add internal note").click()
    note = page.locator("#conversation .msg-note")
    expect(note).to_contain_text("Internal note")
    expect(note).to_contain_text("已加急联系顺丰")

    page.keyboard.press("r")
    page.keyboard.type("已为您催促，包裹明天送达。")
    page.get_by_role("button", name="Reply and solve").click()
    expect(page.locator("#ticket-status")).to_have_text("Solved")
    _assert_not_reloaded(page)
    screenshot("desk-ticket-en")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SOLVED
    assert ticket.first_response_at is not None
    assert ticket.owner == agent
    bodies = list(ticket.messages.order_by("id").values_list("internal", flat=True))
    assert bodies == [False, False, True, False]


def test_keyboard_help_reply_with_ctrl_enter_and_next_ticket(page):
    agent = online_agent(_default_team(), username="li.na", password=PASSWORD)
    now = timezone.now()
    first = TicketFactory(
        team=_default_team(), assignee=agent, next_due_at=now + timedelta(minutes=50)
    )
    second = TicketFactory(
        team=_default_team(), assignee=agent, next_due_at=now + timedelta(minutes=90)
    )

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-help")).to_be_hidden()

    # Oldest first: replying lets the SLA engine move a ticket's due time, not its age.
    page.select_option("select[name=ordering]", "created_at")
    # The swapped-in rows link with the new sort (the old rows had the same first ticket).
    expect(page.locator("[data-row-link]").first).to_have_attribute(
        "href", re.compile(rf"/{first.number}/\?queue=view%3Dmine%26ordering%3Dcreated_at$")
    )
    page.keyboard.press("Escape")  # leave the sort select
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/desk/tickets/{first.number}/"))

    page.keyboard.press("r")
    expect(page.locator("#reply-body")).to_be_focused()
    page.keyboard.type("您好，马上为您处理")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#conversation .msg-agent")).to_contain_text("马上为您处理")

    page.keyboard.press("n")  # typed into the reply box: no shortcut while typing
    expect(page.locator("#reply-body")).to_have_value("n")
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.wait_for_url(
        re.compile(rf"/desk/tickets/{second.number}/\?queue=view%3Dmine%26ordering%3Dcreated_at$")
    )


def test_the_sla_badge_counts_down_and_turns_amber_without_a_reload(page):
    agent = online_agent(_default_team(), username="li.na", password=PASSWORD)
    # A few seconds before the 30-minute warning line.
    TicketFactory(
        team=_default_team(),
        assignee=agent,
        next_due_at=timezone.now() + timedelta(minutes=30, seconds=8),
    )

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    badge = page.locator("[data-queue-rows] .sla")
    expect(badge).to_have_class(re.compile("sla-ok"))
    _no_reload_marker(page)

    expect(badge).to_have_class(re.compile("sla-breaching_soon"), timeout=15_000)
    expect(badge).to_have_text(re.compile(r"^(29|30)m$"))
    _assert_not_reloaded(page)


def test_the_queue_refreshes_itself_and_keeps_the_ticks_and_the_selected_row(page):
    agent = online_agent(_default_team(), username="li.na", password=PASSWORD)
    now = timezone.now()
    older, newer = (
        TicketFactory(team=_default_team(), assignee=agent, next_due_at=now + timedelta(hours=h))
        for h in (1, 2)
    )

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.keyboard.press("j")
    page.keyboard.press("x")
    # A colleague's change arrives: a new ticket due first.
    fresh = TicketFactory(
        team=_default_team(), assignee=agent, next_due_at=now + timedelta(minutes=40)
    )
    _no_reload_marker(page)
    # The event the rows poll on besides "every 30s" (a bulk change sends it too).
    page.evaluate("htmx.trigger(document.body, 'queue-refresh')")

    rows = page.locator("[data-queue-rows] tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_have_attribute("data-number", fresh.number)
    expect(page.locator(f"tr[data-number='{older.number}'] input[name=numbers]")).to_be_checked()
    expect(page.locator("tr.selected")).to_have_attribute("data-number", older.number)
    expect(
        page.locator(f"tr[data-number='{newer.number}'] input[name=numbers]")
    ).not_to_be_checked()
    _assert_not_reloaded(page)


def test_a_supervisor_reassigns_a_ticket(page, screenshot):
    team = TeamFactory(name="Front line")
    li_na = online_agent(team, username="li.na", first_name="娜", last_name="李")
    wang = online_agent(team, username="wang.fang", first_name="芳", last_name="王")
    boss = supervisor_user(username="zhao.lei", password=PASSWORD)
    team.supervisor = boss
    team.save()
    ticket = TicketFactory(team=team, assignee=li_na, subject="退款还没到账")

    login(page, "zhao.lei")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.get_by_role("link", name=ticket.number).click()
    _no_reload_marker(page)
    expect(page.locator("#assignee-name")).to_have_text("李娜")

    page.select_option("#reassign-to", "wang.fang")
    page.get_by_role("button", name="Reassign").click()

    expect(page.locator("#assignee-name")).to_have_text("王芳")
    expect(page.locator("#ticket-timeline")).to_contain_text("Assignee changed")
    expect(page.locator("#ticket-timeline")).to_contain_text("li.na → wang.fang")
    _assert_not_reloaded(page)
    screenshot("desk-ticket-supervisor-en")
    ticket.refresh_from_db()
    assert ticket.assignee == wang


def test_an_agent_cannot_open_another_teams_ticket(page):
    online_agent(TeamFactory(name="Front line"), username="li.na", password=PASSWORD)
    secret = TicketFactory(team=TeamFactory(name="VIP desk"), subject="大客户投诉升级")

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.keyboard.press("/")
    page.keyboard.type(secret.number)
    page.keyboard.press("Enter")
    expect(page.locator("[data-queue-rows] tbody")).to_contain_text("No tickets in this view.")

    response = page.goto(f"/desk/tickets/{secret.number}/")

    assert response.status == 404
    assert "大客户投诉升级" not in page.content()


def test_a_supervisor_changes_tickets_in_bulk_and_sees_what_was_refused(page, screenshot):
    team = TeamFactory(name="Front line")
    online_agent(team, username="li.na")
    boss = supervisor_user(username="zhao.lei", password=PASSWORD)
    team.supervisor = boss
    team.save()
    now = timezone.now()
    open_one = TicketFactory(team=team, subject="尺码不合适", next_due_at=now + timedelta(hours=1))
    solved = TicketFactory(
        team=team,
        status=TicketStatus.SOLVED,
        subject="已经解决的问题",
        next_due_at=now + timedelta(hours=2),
    )
    TicketFactory(team=team, subject="不选这个", next_due_at=now + timedelta(hours=3))

    login(page, "zhao.lei")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.locator(".view-tab", has_text="All").click()
    rows = page.locator("[data-queue-rows] tbody tr")
    expect(rows).to_have_count(3)
    _no_reload_marker(page)

    page.locator(f"tr[data-number='{open_one.number}'] input[name=numbers]").check()
    page.keyboard.press("j")  # rows are selected from the keyboard as well
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.select_option("#bulk-form select[name=status]", "pending")
    page.get_by_role("button", name="Apply").click()

    outcome = page.locator("#bulk-outcome")
    expect(outcome).to_contain_text(f"1 ticket updated: {open_one.number}")
    expect(outcome).to_contain_text(f"{solved.number}: A ticket that is “Solved” cannot become")
    # The rows refresh by themselves and show the new status.
    expect(page.locator(f"tr[data-number='{open_one.number}'] .status")).to_have_text("Pending")
    expect(page.locator("input[name=numbers]:checked")).to_have_count(0)
    _assert_not_reloaded(page)
    screenshot("desk-bulk-en")
    assert Ticket.objects.get(pk=solved.pk).status == TicketStatus.SOLVED


def test_the_queue_and_the_ticket_speak_simplified_chinese(page, screenshot):
    agent = online_agent(_default_team(), username="li.na", password=PASSWORD)
    ticket = _customer_ticket()
    services.ticket_reply(ticket=ticket, user=agent, body="已联系快递公司，请稍候", internal=False)
    services.ticket_reply(ticket=ticket, user=agent, body="顺丰说周五到", internal=True)
    # After the replies, which let the SLA engine recompute the due time: a breached clock.
    Ticket.objects.filter(pk=ticket.pk).update(next_due_at=timezone.now() - timedelta(minutes=4))
    CannedReplyFactory(title="物流查询")

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")

    expect(page.locator(".mainnav")).to_contain_text("工单")
    expect(page.locator(".view-tab").first).to_have_text("我的待办")
    expect(page.locator("[data-queue-rows] thead")).to_contain_text("客户")
    expect(page.locator(f"tr[data-number='{ticket.number}'] .sla")).to_have_class(
        re.compile("sla-breached")
    )
    expect(page.locator(f"tr[data-number='{ticket.number}'] .status")).to_have_text("处理中")
    screenshot("desk-queue-zh")

    page.select_option("#presence select", "away")
    expect(page.locator("#presence")).to_have_class(re.compile("p-away"))
    assert AgentProfile.objects.get(user=agent).presence == Presence.AWAY

    page.get_by_role("link", name=ticket.number).click()
    expect(page.locator(".msg-note .note-label")).to_have_text("内部备注")
    expect(page.get_by_role("button", name="回复并解决")).to_be_visible()
    screenshot("desk-ticket-zh")


def test_a_breach_notification_shows_in_the_bell_and_opens_its_ticket(page, screenshot):
    from tickets.models import Notification

    agent = online_agent(_default_team(), username="bell.agent", password="secret-pass-123")
    ticket = TicketFactory(team=_default_team(), assignee=agent, subject="物流超时")
    now = timezone.now()
    Notification.objects.create(
        user=agent,
        ticket=ticket,
        kind="sla_breach",
        text=f"{ticket.number}: first response breached",
        created_at=now,
        deliver_after=now,
    )
    login(page, "bell.agent")
    bell = page.locator("a.bell")
    expect(bell.locator(".bell-count")).to_have_text("1")
    bell.click()
    page.wait_for_url(re.compile(r"/desk/notifications/$"))
    screenshot("desk-notifications-en")
    page.get_by_role("button", name="Open").click()
    page.wait_for_url(re.compile(rf"/desk/tickets/{ticket.number}/"))
    expect(page.locator("a.bell .bell-count")).to_have_count(0)


def test_an_agent_attaches_a_photo_and_a_pdf_to_a_reply(page, screenshot, settings, tmp_path):
    from tests.factories import PDF_BYTES, PNG_BYTES
    from tickets.models import Attachment

    settings.MEDIA_ROOT = tmp_path
    online_agent(_default_team(), username="li.na", password=PASSWORD)
    ticket = _customer_ticket("收到的杯子有裂纹")

    login(page, "li.na")
    page.wait_for_url(re.compile(r"/desk/$"))
    page.goto(f"/desk/tickets/{ticket.number}/")
    _no_reload_marker(page)
    page.fill("#reply-body", "已收到，请看我们仓库拍的照片和质检报告。")
    page.set_input_files(
        "#reply-attachments",
        [
            {"name": "仓库照片.png", "mimeType": "image/png", "buffer": PNG_BYTES},
            # Named .jpg, but the bytes are a PDF: it is kept as what it is.
            {"name": "质检报告.jpg", "mimeType": "image/jpeg", "buffer": PDF_BYTES},
        ],
    )
    page.get_by_role("button", name="Reply", exact=True).click()

    reply = page.locator("#conversation .msg-agent")
    expect(reply.locator("img.thumb")).to_have_count(1)
    expect(reply.get_by_role("link", name="质检报告.pdf")).to_be_visible()
    expect(page.locator("#reply-attachments")).to_have_value("")  # the box is empty again
    _assert_not_reloaded(page)
    # The thumbnail really loads through the access-checked download URL.
    thumb = page.locator("#conversation img.thumb")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") > 0
    screenshot("desk-ticket-attachments-en")

    assert sorted(Attachment.objects.values_list("name", "content_type")) == [
        ("仓库照片.png", "image/png"),
        ("质检报告.pdf", "application/pdf"),
    ]
