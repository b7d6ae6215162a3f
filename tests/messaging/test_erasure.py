"""A customer's erasure reaches their mail: the address it came from or went to, its subject
and bodies; the mail's threading headers stay so later replies still find nothing of theirs."""

from datetime import UTC, datetime

import pytest

from csplatform.actors import Actor
from messaging.email_out import email_queue
from messaging.models import EmailMessage, Mailbox
from privacy.services import customer_erase
from tests.factories import CustomerFactory, TeamFactory, TicketFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_erasing_a_customer_scrubs_the_address_and_texts_of_their_mail():
    customer = CustomerFactory(name="李思琪", email="siqi.li@example.cn")
    team = TeamFactory()
    mailbox = Mailbox.objects.create(team=team, address="help@shop.example", created_at=NOW)
    ticket = TicketFactory(customer=customer, team=team)
    mail = EmailMessage.objects.create(
        mailbox=mailbox,
        direction=EmailMessage.Direction.INBOUND,
        status=EmailMessage.Status.RECEIVED,
        customer=customer,
        customer_address="siqi.li@example.cn",
        subject="李思琪的退货",
        body_text="我是李思琪，电话 13812345678，邮箱 siqi.li@example.cn",
        ticket=ticket,
        header_id="abc@mail.example.cn",
        created_at=NOW,
    )

    customer_erase(customer=customer, requested_by=Actor.system("test"), now=NOW)

    mail.refresh_from_db()
    assert "siqi.li@example.cn" not in mail.customer_address
    assert "李思琪" not in mail.subject
    assert "李思琪" not in mail.body_text
    assert "13812345678" not in mail.body_text
    assert mail.header_id == "abc@mail.example.cn"


def test_an_orders_survey_email_without_a_ticket_is_erased_with_its_customer():
    customer = CustomerFactory(name="王芳芳", email="fang.wang@example.cn")
    mail = email_queue(
        mailbox=None,
        to="fang.wang@example.cn",
        subject="您会向朋友推荐我们吗？",
        body_text="王芳芳，您好：请为订单评分。",
        kind=EmailMessage.Kind.SURVEY,
        customer_id=customer.pk,
        now=NOW,
    )

    customer_erase(customer=customer, requested_by=Actor.system("test"), now=NOW)

    mail.refresh_from_db()
    assert "fang.wang@example.cn" not in mail.customer_address
    assert "王芳芳" not in mail.body_text
