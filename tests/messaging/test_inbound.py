"""E-mail in through the raw-MIME path (``messaging.inbound.email_receive``): a reply threads
onto its ticket, anything else opens one, machines and loops open nothing, a mail is taken
once, and what a customer sends arrives readable and harmless."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.choices import IgnoredReason
from messaging.inbound import email_receive
from messaging.mail_parse import MailUnreadable, trim_quoted
from messaging.models import EmailMessage
from orders.models import Customer
from tests.factories import (
    PNG_BYTES,
    CustomerFactory,
    StorefrontFactory,
    TeamFactory,
    mailbox,
    raw_email,
)
from tests.messaging.helpers import ticket_filed
from tickets.choices import AuthorKind, TicketStatus
from tickets.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db

CUSTOMER_ADDRESS = "zhang.wei@example.com"


@pytest.fixture
def support():
    return mailbox("support@shop.example", team=TeamFactory(name="E-mail team"))


def _first_mail(support, **kwargs):
    result = email_receive(raw=raw_email(**kwargs), now=kwargs.pop("now", None))
    assert result.status == "received"
    return Ticket.objects.get(number=result.ticket_number), result


def test_a_first_mail_opens_an_email_ticket_for_a_new_customer_in_the_mailboxs_team(support):
    ticket, result = _first_mail(support, subject="物流问题", text="我的包裹还没到。")

    assert ticket.channel == "email"
    assert ticket.subject == "物流问题"
    assert ticket.team == support.team
    assert ticket.messages.get().body == "我的包裹还没到。"
    customer = ticket.customer
    assert customer.email == CUSTOMER_ADDRESS
    assert customer.name == "Zhang Wei"
    email = result.email
    assert (email.direction, email.status, email.ticket, email.message) == (
        "in",
        "received",
        ticket,
        ticket.messages.get(),
    )
    assert email.customer_address == CUSTOMER_ADDRESS


def test_a_known_customer_is_found_by_their_address_through_the_blind_index(support):
    customer = CustomerFactory(email="Zhang.Wei@Example.com")
    ticket, _ = _first_mail(support, sender=f"<{CUSTOMER_ADDRESS.upper()}>")
    assert ticket.customer == customer
    assert Customer.objects.count() == 1


def test_two_first_mails_from_one_new_address_make_one_customer(support):
    first, _ = _first_mail(support, subject="One")
    second, _ = _first_mail(support, subject="Two")
    assert first != second
    assert first.customer == second.customer


def test_a_reply_threads_onto_its_ticket_by_in_reply_to(support):
    ticket, _ = _first_mail(support, message_id="first@mail.example.com")
    reply = raw_email(
        subject="Re: something else entirely",
        text="Any news?\n\nOn Mon, 7 Dec 2026, Support <support@shop.example> wrote:\n> We look",
        headers={"In-Reply-To": "<first@mail.example.com>"},
    )
    result = email_receive(raw=reply)
    assert result.ticket_number == ticket.number
    assert ticket.messages.count() == 2
    assert ticket.messages.last().body == "Any news?"  # the quote trimmed for display
    assert "We look" in result.email.body_text  # and kept in full


def test_a_reply_to_an_agents_mail_threads_by_references(support):
    ticket, _ = _first_mail(support)
    EmailMessage.objects.create(  # the agent's reply as the e-mail sender records it
        mailbox=support,
        direction="out",
        status="sent",
        customer_address=CUSTOMER_ADDRESS,
        ticket=ticket,
        header_id="abc.T-000001@shop.example",
        created_at=timezone.now(),
    )
    reply = raw_email(
        subject="Re: hi",
        headers={"References": "<unknown@elsewhere> <abc.T-000001@shop.example>"},
    )
    assert email_receive(raw=reply).ticket_number == ticket.number


def test_a_reply_threads_by_the_ticket_number_in_the_subject(support):
    ticket, _ = _first_mail(support)
    result = email_receive(raw=raw_email(subject=f"Re: parcel [{ticket.number}]"))
    assert result.ticket_number == ticket.number
    assert ticket.messages.count() == 2


def test_a_reply_threads_by_the_ticket_number_in_the_plus_address(support):
    ticket, _ = _first_mail(support)
    to = f"support+{ticket.number.lower()}@shop.example"
    assert email_receive(raw=raw_email(to=to, subject="more")).ticket_number == ticket.number


def test_another_customers_ticket_number_does_not_thread_the_mail(support):
    other = ticket_filed(CustomerFactory(email="someone.else@example.com"))
    result = email_receive(raw=raw_email(subject=f"About [{other.number}]"))
    assert result.status == "received"
    assert result.ticket_number != other.number
    assert other.messages.count() == 1
    assert Ticket.objects.get(number=result.ticket_number).customer.email == CUSTOMER_ADDRESS


def test_a_customer_mail_on_a_solved_ticket_reopens_it(support):
    ticket, _ = _first_mail(support)
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.SOLVED)
    email_receive(raw=raw_email(subject=f"Re: [{ticket.number}]", text="Not solved."))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_the_same_message_id_twice_is_taken_once(support):
    raw = raw_email(message_id="once@mail.example.com")
    first = email_receive(raw=raw)
    again = email_receive(raw=raw)
    assert (again.status, again.ticket_number, again.duplicate) == (
        "received",
        first.ticket_number,
        True,
    )
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert EmailMessage.objects.count() == 1


def test_a_gbk_chinese_mail_arrives_readable(support):
    text = "您好，我的订单还没有发货，请帮忙查一下。谢谢！"
    raw = raw_email(subject="订单查询", text=text, charset="gbk")
    assert "您好".encode("gbk") in raw  # really sent in GBK, 8-bit
    ticket, _ = _first_mail(support, subject="订单查询", text=text, charset="gbk")
    assert ticket.messages.get().body == text


def test_a_mail_labelled_gb2312_with_gbk_only_characters_arrives_readable(support):
    # 镕 and 喆 are in GBK/GB18030 but not GB2312: many mailers label such text GB2312 anyway.
    body = "朱镕基 张喆 询问退款".encode("gb18030")
    raw = (
        b"From: <zhang.wei@example.com>\r\nTo: support@shop.example\r\n"
        b"Subject: =?GB2312?B?"
        + __import__("base64").b64encode("退款".encode("gb2312"))
        + b"?=\r\n"
        b"Message-ID: <gb2312@mail.example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="gb2312"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        + body
    )
    result = email_receive(raw=raw)
    ticket = Ticket.objects.get(number=result.ticket_number)
    assert ticket.subject == "退款"
    assert ticket.messages.get().body == "朱镕基 张喆 询问退款"


def test_an_html_body_arrives_without_its_script(support):
    html = (
        '<p>Hello <b>team</b><script>alert("x")</script></p>'
        '<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
    )
    ticket, result = _first_mail(support, text=None, html=html)
    stored = result.email.body_html
    assert "<script" not in stored
    assert "alert" not in stored
    assert "onerror" not in stored
    assert "javascript:" not in stored
    assert "<b>team</b>" in stored
    # Only HTML: the text is derived from the sanitised HTML.
    assert ticket.messages.get().body == "Hello team\nclick"


def test_an_attachment_over_the_limit_is_refused_with_a_notice_and_the_mail_still_arrives(
    support, settings
):
    settings.UPLOAD_MAX_BYTES = 1000
    big = b"%PDF-1.4\n" + b"0" * 2000
    ticket, result = _first_mail(
        support,
        attachments=[
            ("photo.png", "image/png", PNG_BYTES),
            ("invoice.pdf", "application/pdf", big),
        ],
    )

    message = result.email.message
    assert [a.name for a in Attachment.objects.filter(message=message)] == ["photo.png"]
    note = ticket.messages.get(internal=True)
    assert note.author_kind == AuthorKind.SYSTEM
    assert "invoice.pdf" in note.body
    notice = EmailMessage.objects.get(kind=EmailMessage.Kind.NOTICE)
    assert (notice.direction, notice.status, notice.ticket) == ("out", "queued", ticket)
    assert notice.customer_address == CUSTOMER_ADDRESS
    assert notice.next_attempt_at is not None
    assert f"[{ticket.number}]" in notice.subject
    assert notice.in_reply_to == result.email.header_id
    assert notice.header_id.endswith(f".{ticket.number}@shop.example")
    assert "invoice.pdf" in notice.body_text
    assert "larger than the limit of 1000" in notice.body_text  # English
    assert "大于" in notice.body_text or "超过" in notice.body_text  # and Chinese
    assert "invoice.pdf" in notice.body_html


def test_an_attachment_of_a_refused_type_is_named_in_the_notice(support):
    ticket, _ = _first_mail(
        support, attachments=[("run.exe", "application/octet-stream", b"MZ\x90")]
    )
    notice = EmailMessage.objects.get(kind=EmailMessage.Kind.NOTICE)
    assert "run.exe" in notice.body_text
    assert "PDF" in notice.body_text
    assert not Attachment.objects.exists()
    assert ticket.messages.filter(internal=False).count() == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, IgnoredReason.AUTO_SUBMITTED),
        ({"Precedence": "bulk"}, IgnoredReason.BULK),
        ({"Precedence": "list"}, IgnoredReason.BULK),
        ({"X-Autoreply": "yes"}, IgnoredReason.AUTO_REPLY),
        ({"X-Autorespond": "vacation"}, IgnoredReason.AUTO_REPLY),
        ({"Return-Path": "<>"}, IgnoredReason.NULL_SENDER),
    ],
)
def test_an_automatic_reply_opens_no_ticket_and_gets_no_answer(support, headers, reason):
    result = email_receive(raw=raw_email(subject="Out of office", headers=headers))
    assert (result.status, result.reason, result.ticket_number) == ("ignored", reason, None)
    assert not Ticket.objects.exists()
    email = EmailMessage.objects.get()
    assert (email.status, email.ignored_reason) == ("ignored", reason)
    assert not EmailMessage.objects.filter(direction="out").exists()


def test_auto_submitted_no_is_an_ordinary_mail(support):
    assert email_receive(raw=raw_email(headers={"Auto-Submitted": "no"})).status == "received"


def test_a_bounce_from_the_mailer_daemon_opens_no_ticket(support):
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        b"To: support@shop.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        b"Message-ID: <bounce1@mx.example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n"
    )
    result = email_receive(raw=raw)
    assert (result.status, result.reason) == ("ignored", IgnoredReason.BOUNCE)
    assert not Ticket.objects.exists()


def test_mail_from_one_of_our_own_addresses_does_not_loop(support):
    mailbox("returns@shop.example")
    result = email_receive(raw=raw_email(sender="Returns <returns+T-000001@shop.example>"))
    assert (result.status, result.reason) == ("ignored", IgnoredReason.OWN_ADDRESS)
    assert not Ticket.objects.exists()


def test_one_of_our_own_mails_coming_back_is_ignored(support):
    ticket, _ = _first_mail(support)
    EmailMessage.objects.create(
        mailbox=support,
        direction="out",
        status="sent",
        customer_address=CUSTOMER_ADDRESS,
        ticket=ticket,
        header_id="ours.T-000001@shop.example",
        created_at=timezone.now(),
    )
    result = email_receive(raw=raw_email(message_id="ours.T-000001@shop.example"))
    assert (result.status, result.reason) == ("ignored", IgnoredReason.OWN_ADDRESS)
    assert ticket.messages.count() == 1


def test_more_than_twenty_mails_from_one_address_in_an_hour_are_ignored(support, settings):
    now = timezone.now()
    for minute in range(20):
        raw = raw_email(subject=f"[{minute}]")
        assert email_receive(raw=raw, now=now + timedelta(minutes=minute)).status == "received"
    result = email_receive(raw=raw_email(), now=now + timedelta(minutes=30))
    assert (result.status, result.reason) == ("ignored", IgnoredReason.RATE_LIMITED)
    other = email_receive(
        raw=raw_email(sender="li.na@example.com"), now=now + timedelta(minutes=30)
    )
    assert other.status == "received"
    later = email_receive(raw=raw_email(), now=now + timedelta(minutes=125))
    assert later.status == "received"


def test_mail_to_a_disabled_mailbox_is_recorded_as_ignored(support):
    support.active = False
    support.save()
    result = email_receive(raw=raw_email())
    assert (result.status, result.reason) == ("ignored", IgnoredReason.MAILBOX_DISABLED)
    assert not Ticket.objects.exists()


def test_mail_to_no_known_address_leaves_no_trace(support):
    result = email_receive(raw=raw_email(to="sales@elsewhere.example"))
    assert (result.status, result.reason) == ("ignored", "unknown_recipient")
    assert not EmailMessage.objects.exists()


def test_a_mailbox_of_another_storefront_is_not_reached_with_this_storefronts_key(support):
    result = email_receive(raw=raw_email(), storefront=StorefrontFactory())
    assert result.reason == "unknown_recipient"


def test_a_mail_without_a_sender_is_unreadable(support):
    with pytest.raises(MailUnreadable):
        email_receive(raw=b"this is not an e-mail at all")
    assert not EmailMessage.objects.exists()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Thanks!\n\nOn Mon, 7 Dec 2026 at 10:00, Support <s@x.cn> wrote:\n> Hi", "Thanks!"),
        ("Thanks!\n\nOn Mon, 7 Dec 2026 at 10:00, Support\n<s@x.cn> wrote:\n> Hi", "Thanks!"),
        ("好的，谢谢。\n\n在 2026年12月7日 10:00，客服 写道：\n> 您好", "好的，谢谢。"),
        ("收到\n\n-----Original Message-----\nFrom: Support\nSent: today", "收到"),
        ("收到\n\n发件人: 客服\n发送时间: 2026年12月7日\n收件人: 我\n主题: 退款", "收到"),
        ("Fine\n\nFrom: Support <s@x.cn>\nSent: Monday\nTo: me\nSubject: x\n\nold", "Fine"),
        ("Yes\n> quoted line\n> another", "Yes"),
        ("> only a quote", "> only a quote"),
        ("From: the warehouse, not a header block", "From: the warehouse, not a header block"),
    ],
)
def test_quoted_history_is_trimmed_for_display(text, shown):
    assert trim_quoted(text) == shown


def test_erasing_the_customer_erases_their_address_and_mail_in_the_email_log(support):
    from csplatform.actors import Actor
    from privacy.services import customer_erase

    ticket, result = _first_mail(
        support, text="Call me on 13812348000 or write to zhang.wei@example.com"
    )
    customer_erase(customer=ticket.customer, requested_by=Actor.system())

    email = EmailMessage.objects.get(pk=result.email.pk)
    assert CUSTOMER_ADDRESS not in email.customer_address
    assert "13812348000" not in email.body_text
    assert CUSTOMER_ADDRESS not in email.body_text
