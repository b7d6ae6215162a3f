"""Customer notices: when a case moves, the customer is told in their language, through the
storefront's webhook and an e-mail from the team's mailbox, once per change, and the ticket's
timeline says so."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints import services as complaints
from messaging.choices import EmailSkipped, NoticeType, WebhookEventType
from messaging.models import CustomerNotice, EmailMessage, NoticeTemplate, OutboxEvent
from messaging.notice_templates import NOTICE_VARIABLES, template_check
from messaging.notices import Notice, customer_notice_send, notice_render
from orders.models import OrderEvent
from orders.services import order_exception_raise
from refunds.payouts import refund_payout
from refunds.services import (
    refund_create,
    return_request_approve,
    return_request_inspect,
    return_request_receive,
    return_request_reject,
)
from refunds.signals import return_updated_recorded
from tests.complaints.helpers import Desk as ComplaintDesk
from tests.complaints.helpers import file_complaint, walk_to
from tests.factories import (
    CustomerFactory,
    EmailMessageFactory,
    MailboxFactory,
    OrderFactory,
    TeamFactory,
    online_agent,
    webhook_endpoint,
)
from tests.messaging.helpers import SHOP, ticket_filed
from tests.refunds.helpers import (
    DAY,
    DELIVERED,
    default_team,
    delivered_order,
    desk_supervisor,
    file_request,
)
from tickets.choices import TicketEventType
from tickets.models import Message, TicketEvent
from tickets.services import ticket_customer_message, ticket_reply

pytestmark = pytest.mark.django_db

APPROVED_AT = DELIVERED + 2 * DAY


@pytest.fixture
def mailbox():
    """The support address of the team return and complaint tickets are routed to."""
    return MailboxFactory(team=default_team(), address="help@shop.example.cn")


@pytest.fixture
def notices_hook():
    """The storefront's endpoint for notices (deliveries not sent: the rows are read)."""
    endpoint, _secret = webhook_endpoint(
        "http://127.0.0.1:9/hooks", events=[WebhookEventType.CUSTOMER_NOTICE]
    )
    return endpoint


def chinese_request(customer=None, **kwargs):
    """A request the customer filed in Chinese (its ticket's first message)."""
    order = delivered_order(customer=customer) if customer else delivered_order()
    return file_request(
        order, reason="not_as_described", description="衣服和图片颜色差很多", **kwargs
    )


def notice_events() -> list[dict]:
    return [
        e.payload["data"]
        for e in OutboxEvent.objects.filter(type=WebhookEventType.CUSTOMER_NOTICE).order_by(
            "created_at"
        )
    ]


# --- The texts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("notice_type", NoticeType.values)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_notice_has_a_default_text_in_both_languages_that_renders(notice_type, language):
    template = NoticeTemplate.objects.get(notice_type=notice_type, language=language)
    assert template.enabled
    template.full_clean()  # the seeded texts pass the admin's check
    values = {
        "customer.name": "王芳",
        "order.number": "SO-1001",
        "ticket.number": "T-000123",
        "return.number": "R-7QX2",
        "complaint.number": "C-000042",
        "amount": "¥99.00",
        "reason": "颜色不符",
        "plan": "补发新品",
    }
    variables = NOTICE_VARIABLES[notice_type]
    subject, body = notice_render(
        template=template, values={k: v for k, v in values.items() if k in variables}
    )
    assert subject
    assert "\n" not in subject
    assert "王芳" in body
    assert "{{" not in subject + body
    assert "{%" not in subject + body
    # What the notice is about is named in it.
    about = [n for n in ("return.number", "complaint.number", "plan") if n in variables]
    if notice_type == NoticeType.TICKET_SOLVED:
        about = ["ticket.number"]
    for name in about:
        assert values[name] in subject + body, name
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in template.subject + template.body)
    assert has_chinese == (language == "zh-hans")


def test_a_customer_without_a_name_is_greeted_all_the_same():
    template = NoticeTemplate.objects.get(notice_type=NoticeType.TICKET_SOLVED, language="en")
    _subject, body = notice_render(
        template=template, values={"customer.name": "", "ticket.number": "T-1"}
    )
    assert body.startswith("Dear customer,")


@pytest.mark.parametrize(
    ("subject", "body", "field", "says"),
    [
        ("{% if reason %}{{ order.number }}", "ok", "subject", "does not compile"),
        ("ok", "{% include 'secrets.txt' %}", "body", "The tag “include” is not allowed"),
        ("ok", "{% load static %}", "body", "does not compile"),  # no library to load
        ("ok", "{% debug %}", "body", "The tag “debug” is not allowed"),
        ("ok", "{{ customer.email }}", "body", "Unknown variable “customer.email”"),
        ("ok", "{% if customer.phone %}x{% endif %}", "body", "Unknown variable “customer.phone”"),
        ("ok", "{{ plan }}", "body", "This notice offers: customer.name"),  # not a return's
        ("ok", "{{ order.number|safe }}", "body", "The filter “safe” is not allowed"),
    ],
)
def test_a_template_that_may_not_render_is_refused_with_a_clear_error(subject, body, field, says):
    with pytest.raises(ValidationError) as refused:
        template_check(notice_type=NoticeType.RETURN_APPROVED, subject=subject, body=body)
    assert says in refused.value.message_dict[field][0]


def test_conditions_and_text_filters_are_allowed():
    template_check(
        notice_type=NoticeType.RETURN_REJECTED,
        subject="{{ return.number|upper }}",
        body="{% if reason %}原因：{{ reason|truncatechars:50 }}{% else %}—{% endif %}"
        "{# a note #}{% comment %}for admins{% endcomment %}",
    )


def test_an_admin_cannot_save_a_broken_template_and_can_save_a_good_one(admin_client_):
    template = NoticeTemplate.objects.get(notice_type=NoticeType.RETURN_APPROVED, language="en")
    url = reverse("admin:messaging_noticetemplate_change", args=[template.pk])
    page = admin_client_.get(url)
    assert page.status_code == 200
    assert "{{ return.number }}" in page.content.decode()  # the variables it offers

    refused = admin_client_.post(
        url,
        {"subject": "Approved {% if amount %}{{ return.number }}", "body": "x", "enabled": "on"},
    )
    assert refused.status_code == 200  # the form again, with the error
    assert "does not compile" in refused.content.decode()
    template.refresh_from_db()
    assert template.subject == "Your return request {{ return.number }} is approved"

    saved = admin_client_.post(
        url, {"subject": "Approved: {{ return.number }}", "body": "Hi {{ customer.name }}"}
    )
    assert saved.status_code == 302
    template.refresh_from_db()
    assert (template.subject, template.enabled) == ("Approved: {{ return.number }}", False)


def test_an_admin_switches_a_notice_off_in_both_languages(admin_client_):
    one = NoticeTemplate.objects.get(notice_type=NoticeType.TICKET_SOLVED, language="zh-hans")
    response = admin_client_.post(
        reverse("admin:messaging_noticetemplate_changelist"),
        {"action": "notice_disable", "_selected_action": [one.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert not NoticeTemplate.objects.filter(
        notice_type=NoticeType.TICKET_SOLVED, enabled=True
    ).exists()
    assert NoticeTemplate.objects.filter(enabled=True).count() == 2 * (len(NoticeType) - 1)


# --- Returns -------------------------------------------------------------------------------------


def test_an_approved_return_is_told_by_webhook_and_by_email_from_the_team_mailbox(
    mailbox, notices_hook
):
    request = chinese_request()
    customer = request.order.customer
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)

    notice = CustomerNotice.objects.get()
    assert (notice.notice_type, notice.language) == (NoticeType.RETURN_APPROVED, "zh-hans")
    assert notice.subject == f"您的售后申请 {request.public_id} 已通过审核"
    assert customer.name in notice.body
    assert request.order.number in notice.body
    assert notice.channels == ["webhook", "email"]

    (data,) = notice_events()
    assert data["notice"] == "return_approved"
    assert (data["language"], data["subject"], data["body"]) == (
        "zh-hans",
        notice.subject,
        notice.body,
    )
    assert data["ticket_number"] == request.ticket.number
    assert (data["order_number"], data["return_id"]) == (request.order.number, request.public_id)
    assert data["customer"] == {"external_id": customer.external_id}

    email = EmailMessage.objects.get()
    assert (email.direction, email.kind, email.status) == ("out", "notice", "queued")
    assert email.mailbox == mailbox
    assert email.customer_address == customer.email
    assert email.subject == f"{notice.subject} [{request.ticket.number}]"
    assert email.body_text == notice.body
    assert "<p>" in email.body_html
    assert customer.name in email.body_html
    assert email.ticket == request.ticket
    assert email.next_attempt_at == APPROVED_AT
    assert email.header_id.endswith(f".{request.ticket.number}@shop.example.cn")
    assert (email.in_reply_to, email.references) == ("", "")
    assert notice.email == email


def test_the_email_threads_onto_the_tickets_latest_mail(mailbox):
    request = chinese_request()
    EmailMessageFactory(mailbox=mailbox, ticket=request.ticket, header_id="first@mail.example.com")
    EmailMessageFactory(
        mailbox=mailbox,
        ticket=request.ticket,
        header_id="second@mail.example.com",
        references="first@mail.example.com",
    )
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)

    email = EmailMessage.objects.get(kind="notice")
    assert email.in_reply_to == "second@mail.example.com"
    assert email.references == "first@mail.example.com second@mail.example.com"


def test_a_customer_writing_in_english_is_told_in_english(mailbox):
    order = delivered_order()
    request = file_request(
        order, reason="not_as_described", description="The colour is nothing like the photo."
    )
    return_request_reject(
        request=request, by_user=desk_supervisor(), reason="Outside the window", now=APPROVED_AT
    )
    notice = CustomerNotice.objects.get()
    assert (notice.notice_type, notice.language) == (NoticeType.RETURN_REJECTED, "en")
    assert notice.subject == f"Your return request {request.public_id} was not approved"
    assert "Reason: Outside the window" in notice.body
    assert EmailMessage.objects.get().subject.startswith("Your return request")


def test_a_customer_without_an_email_address_gets_only_the_webhook(mailbox, notices_hook):
    request = chinese_request(customer=CustomerFactory(email=None))
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    notice = CustomerNotice.objects.get()
    assert notice.channels == ["webhook"]
    assert notice.email_skipped == EmailSkipped.NO_ADDRESS
    assert not EmailMessage.objects.exists()
    assert len(notice_events()) == 1


def test_without_a_team_mailbox_the_email_is_skipped_and_the_reason_kept(notices_hook):
    request = chinese_request()
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    notice = CustomerNotice.objects.get()
    assert (notice.channels, notice.email_skipped) == (["webhook"], EmailSkipped.NO_MAILBOX)
    assert not EmailMessage.objects.exists()


def test_a_customer_the_platform_cannot_reach_is_not_marked_notified():
    request = chinese_request(customer=CustomerFactory(email=None))  # no hook, no address
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    assert CustomerNotice.objects.get().channels == []
    assert not TicketEvent.objects.filter(type=TicketEventType.CUSTOMER_NOTIFIED).exists()


def test_a_switched_off_notice_sends_nothing(mailbox, notices_hook):
    NoticeTemplate.objects.filter(notice_type=NoticeType.RETURN_APPROVED).update(enabled=False)
    request = chinese_request()
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    assert not CustomerNotice.objects.exists()
    assert notice_events() == []
    assert not EmailMessage.objects.exists()
    assert not TicketEvent.objects.filter(type=TicketEventType.CUSTOMER_NOTIFIED).exists()


def test_a_template_broken_in_the_database_sends_nothing_and_never_blocks_the_change(mailbox):
    NoticeTemplate.objects.filter(notice_type=NoticeType.RETURN_APPROVED).update(
        body="{% include 'x.html' %}"
    )
    request = chinese_request()
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    request.refresh_from_db()
    assert request.status == "awaiting_return"
    assert not CustomerNotice.objects.exists()


def test_one_notice_per_state_change_whatever_the_repeats(mailbox, notices_hook):
    request = chinese_request()
    announced = []

    def keep(sender, moves: list, **kwargs):
        announced.append(moves)

    return_updated_recorded.connect(keep)
    try:
        return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    finally:
        return_updated_recorded.disconnect(keep)
    # The same change announced again (a retried receiver) is not a second notice.
    return_updated_recorded.send(sender=type(request), request=request, moves=announced[0])
    assert CustomerNotice.objects.count() == 1
    assert EmailMessage.objects.count() == 1
    assert len(notice_events()) == 1
    assert TicketEvent.objects.filter(type=TicketEventType.CUSTOMER_NOTIFIED).count() == 1


def test_a_new_decision_after_an_appeal_is_a_new_notice(mailbox):
    from refunds.services import return_request_appeal

    request = chinese_request()
    boss = desk_supervisor()
    return_request_reject(request=request, by_user=boss, reason="缺少照片", now=APPROVED_AT)
    return_request_appeal(
        request=request, description="补充了照片", actor=SHOP, now=APPROVED_AT + DAY
    )
    return_request_approve(request=request, by_user=boss, now=APPROVED_AT + 2 * DAY)
    assert list(CustomerNotice.objects.order_by("id").values_list("notice_type", flat=True)) == [
        NoticeType.RETURN_REJECTED,
        NoticeType.RETURN_APPROVED,
    ]


def test_a_paid_refund_is_told_with_its_amount(mailbox, notices_hook):
    boss = desk_supervisor()
    request = chinese_request()
    return_request_approve(request=request, by_user=boss, now=APPROVED_AT)
    return_request_receive(request=request, by_user=boss, now=APPROVED_AT + DAY)
    return_request_inspect(request=request, by_user=boss, passed=True, now=APPROVED_AT + DAY)
    refund = refund_create(
        request=request, amount=Decimal("99.00"), by_user=boss, now=APPROVED_AT + DAY
    )
    assert CustomerNotice.objects.filter(notice_type=NoticeType.RETURN_REFUNDED).count() == 0

    refund_payout(refund_id=refund.pk, now=APPROVED_AT + 2 * DAY)

    notice = CustomerNotice.objects.get(notice_type=NoticeType.RETURN_REFUNDED)
    assert notice.subject == "退款 ¥99.00 已原路退回"
    assert request.public_id in notice.body
    assert notice.ticket == request.ticket
    assert notice_events()[-1]["return_id"] == request.public_id


# --- Complaints, tickets, order exceptions -------------------------------------------------------


def test_a_complaint_tells_its_acceptance_its_plan_and_the_confirmation_asked(notices_hook):
    desk = ComplaintDesk()
    MailboxFactory(team=desk.team, address="complaints@shop.example.cn")
    complaint = walk_to(file_complaint(), "awaiting_confirmation", desk.agent_actor)

    notices = list(CustomerNotice.objects.order_by("id"))
    assert [n.notice_type for n in notices] == [
        NoticeType.COMPLAINT_ACCEPTED,
        NoticeType.COMPLAINT_PLAN_PROPOSED,
        NoticeType.COMPLAINT_AWAITING_CONFIRMATION,
    ]
    assert all(n.language == "zh-hans" and n.ticket == complaint.ticket for n in notices)
    assert "为您补发一件新品并赠送20元优惠券" in notices[1].body
    assert notices[0].subject == f"您的投诉 {complaint.number} 已受理"
    assert [e["complaint_number"] for e in notice_events()] == [complaint.number] * 3
    assert {e.mailbox.address for e in EmailMessage.objects.filter(kind="notice")} == {
        "complaints@shop.example.cn"
    }


def test_the_plan_is_posted_to_the_conversation_as_the_agents_public_reply():
    desk = ComplaintDesk()
    endpoint, _ = webhook_endpoint(
        "http://127.0.0.1:9/hooks", events=[WebhookEventType.TICKET_MESSAGE_CREATED]
    )
    complaint = walk_to(file_complaint(), "investigating", desk.agent_actor)
    complaints.complaint_propose_plan(
        complaint=complaint, plan="全额退款并补偿20元", actor=desk.agent_actor
    )

    message = Message.objects.filter(ticket=complaint.ticket).latest("id")
    assert not message.internal
    assert (message.author_kind, message.author_user) == ("agent", desk.agent)
    assert (
        message.body
        == f"关于您的投诉 {complaint.number}，我们的处理方案如下：\n\n全额退款并补偿20元"
    )
    # The storefront hears of it as of any public reply (and an e-mail ticket mails it).
    (event,) = OutboxEvent.objects.filter(type=WebhookEventType.TICKET_MESSAGE_CREATED)
    assert event.payload["data"]["message"]["body"] == message.body
    assert endpoint.pk in event.deliveries.values_list("endpoint_id", flat=True)


def test_a_plan_proposed_by_the_system_is_a_public_system_message():
    from csplatform.actors import Actor

    ComplaintDesk()
    complaint = walk_to(file_complaint(), "investigating", Actor.system("tests"))
    complaints.complaint_propose_plan(
        complaint=complaint, plan="Full refund", actor=Actor.system("rules")
    )
    message = Message.objects.filter(ticket=complaint.ticket).latest("id")
    assert (message.author_kind, message.internal) == ("system", False)
    assert message.body.endswith("Full refund")


def test_a_solved_ticket_is_told_once(mailbox, notices_hook):
    customer = CustomerFactory()
    ticket = ticket_filed(customer, subject="快递")
    ticket_customer_message(ticket=ticket, body="我的快递三天没有更新了", actor=SHOP)
    agent = online_agent(default_team())
    ticket_reply(ticket=ticket, user=agent, body="已为您催促快递", then_status="solved")
    notice = CustomerNotice.objects.get()
    assert (notice.notice_type, notice.language) == (NoticeType.TICKET_SOLVED, "zh-hans")
    assert notice.subject == f"您的工单 {ticket.number} 已解决"
    assert EmailMessage.objects.get().subject == f"{notice.subject} [{ticket.number}]"


def test_an_order_exception_without_a_ticket_is_told_and_noted_on_the_orders_timeline(
    notices_hook,
):
    # The exception's ticket is opened after the commit: the e-mail leaves from the mailbox of
    # the team that ticket is routed to (here the default team).
    MailboxFactory(team=default_team(), address="orders@shop.example.cn")
    order = OrderFactory()
    _exception, _ = order_exception_raise(order=order, type="parcel_lost", now=order.placed_at)

    notice = CustomerNotice.objects.get()
    assert (notice.notice_type, notice.ticket, notice.order) == (
        NoticeType.ORDER_EXCEPTION_OPENED,
        None,
        order,
    )
    # The exception's label in the notice's language.
    assert notice.subject == f"您的订单 {order.number} 出现异常：包裹丢失"
    email = EmailMessage.objects.get()
    assert (email.mailbox.address, email.ticket) == ("orders@shop.example.cn", None)
    assert "[" not in email.subject  # no ticket number to thread on yet
    event = OrderEvent.objects.get(order=order, type="customer_notified")
    assert event.payload == {
        "notice": "order_exception_opened",
        "label": "Order exception opened",
        "channels": ["webhook", "email"],
    }
    assert not TicketEvent.objects.filter(type=TicketEventType.CUSTOMER_NOTIFIED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_sends_no_notice(mailbox, notices_hook):
    request = chinese_request()
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
        raise RuntimeError("the request failed after the approval was written")
    assert not CustomerNotice.objects.exists()
    assert not EmailMessage.objects.exists()
    assert notice_events() == []


def test_a_notice_sent_directly_is_idempotent_too(notices_hook):
    customer = CustomerFactory()
    ticket = ticket_filed(customer)
    notice = Notice(
        type=NoticeType.TICKET_SOLVED,
        key="ticket_event:x",
        customer=customer,
        ticket=ticket,
        now=ticket.created_at,
    )
    assert customer_notice_send(notice) is not None
    assert customer_notice_send(notice) is None
    assert CustomerNotice.objects.count() == 1


# --- The desk ------------------------------------------------------------------------------------


def _notified(ticket, count: int) -> None:
    from tickets.services import ticket_customer_notified

    for i in range(count):
        ticket_customer_notified(
            ticket=ticket,
            notice=NoticeType.RETURN_APPROVED if i % 2 else NoticeType.TICKET_SOLVED,
            label="Return approved" if i % 2 else "Ticket solved",
            channels=["webhook", "email"] if i % 2 else ["webhook"],
            now=ticket.created_at,
        )


def test_the_desk_timeline_shows_who_was_notified_of_what_and_how(client):
    team = TeamFactory()
    agent = online_agent(team)
    client.force_login(agent)
    ticket = ticket_filed(CustomerFactory())
    ticket.team = team
    ticket.save(update_fields=["team"])
    _notified(ticket, 2)

    page = client.get(f"/desk/tickets/{ticket.number}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert page.status_code == 200
    assert "<strong>已通知客户</strong> 售后申请已通过 · 店铺 Webhook, 邮件" in text
    assert "<strong>已通知客户</strong> 工单已解决 · 店铺 Webhook" in text

    def queries(size: int) -> int:
        _notified(ticket, size)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/desk/tickets/{ticket.number}/").status_code == 200
        return len(captured)

    assert queries(2) == queries(20)  # the entries cost no query of their own


def test_erasing_a_customer_scrubs_the_notices_and_emails_sent_to_them(mailbox):
    from csplatform.actors import Actor
    from privacy.services import customer_erase

    request = chinese_request()
    customer = request.order.customer
    return_request_approve(request=request, by_user=desk_supervisor(), now=APPROVED_AT)
    assert customer.name in CustomerNotice.objects.get().body

    record = customer_erase(customer=customer, requested_by=Actor.system("tests"))

    assert customer.name not in CustomerNotice.objects.get().body
    assert customer.name not in EmailMessage.objects.get().body_text
    assert record.rows_by_table["messaging.CustomerNotice"] == 1
