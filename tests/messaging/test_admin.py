"""Admins see every endpoint with its delivery log and send deliveries again."""

import pytest
from django.urls import reverse

from messaging.choices import DeliveryStatus, WebhookEventType
from messaging.delivery import deliveries_send_due
from messaging.models import WebhookDelivery
from tests.factories import CustomerFactory, webhook_endpoint
from tests.messaging.helpers import ticket_filed

pytestmark = pytest.mark.django_db


def test_an_admin_sends_a_failed_delivery_again_from_the_delivery_log(admin_client_, receiver):
    endpoint, _ = webhook_endpoint(receiver.url, events=[WebhookEventType.TICKET_CREATED])
    ticket_filed(CustomerFactory())
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    delivery = WebhookDelivery.objects.get()
    log = reverse("admin:messaging_webhookdelivery_changelist")

    page = admin_client_.get(reverse("admin:messaging_webhookendpoint_change", args=[endpoint.pk]))
    assert page.status_code == 200
    assert f"{log}?endpoint__id__exact={endpoint.pk}" in page.content.decode()
    assert endpoint.secret not in page.content.decode()
    assert admin_client_.get(log, {"endpoint__id__exact": endpoint.pk}).status_code == 200

    response = admin_client_.post(
        log, {"action": "resend", "_selected_action": [delivery.pk]}, follow=True
    )

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    deliveries_send_due()
    assert [r.webhook_id for r in receiver.received] == [str(delivery.event_id)]


def test_an_admin_cannot_point_an_endpoint_at_a_private_address_in_production(
    admin_client_, settings
):
    endpoint, _ = webhook_endpoint("http://127.0.0.1:9/hooks")
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = admin_client_.post(
        reverse("admin:messaging_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://169.254.169.254/", "events": ["ticket.created"], "active": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    endpoint.refresh_from_db()
    assert endpoint.url == "http://127.0.0.1:9/hooks"


# --- Mailboxes and e-mails ----------------------------------------------------------------------


def _mailbox_form(team, **overrides):
    data = {
        "team": team.pk,
        "address": "Support@Shop.example",
        "display_name": "Shop support",
        "storefront": "",
        "active": "on",
        "imap_enabled": "on",
        "imap_host": "imap.shop.example",
        "imap_port": 993,
        "imap_ssl": "on",
        "imap_user": "support",
        "imap_password": "first secret",
        "imap_folder": "INBOX",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_an_admin_sets_up_a_mailbox_whose_password_is_never_shown_again(admin_client_):
    from messaging.models import Mailbox
    from tests.factories import TeamFactory

    team = TeamFactory()
    add = reverse("admin:messaging_mailbox_add")
    response = admin_client_.post(add, _mailbox_form(team))
    assert response.status_code == 302, response.content.decode()[:2000]
    mailbox = Mailbox.objects.get()
    assert (mailbox.address, mailbox.imap_password) == ("support@shop.example", "first secret")
    change = reverse("admin:messaging_mailbox_change", args=[mailbox.pk])
    assert "first secret" not in admin_client_.get(change).content.decode()

    # Saved again with the password left blank: the stored one stays.
    response = admin_client_.post(change, _mailbox_form(team, imap_password="", imap_port=994))
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.imap_port, mailbox.imap_password) == (994, "first secret")


def test_polling_by_imap_needs_a_host_a_user_and_a_password(admin_client_):
    from messaging.models import Mailbox
    from tests.factories import TeamFactory

    response = admin_client_.post(
        reverse("admin:messaging_mailbox_add"),
        _mailbox_form(TeamFactory(), imap_host="", imap_password=""),
    )
    assert response.status_code == 200
    assert not Mailbox.objects.exists()
    assert "Needed to poll the mailbox by IMAP." in response.content.decode()


def test_poll_now_reads_the_mailbox_and_says_how_much(admin_client_, imap_server, settings):
    from tests.factories import mailbox, raw_email
    from tickets.models import Ticket

    settings.IMAP_ALLOW_PLAINTEXT = True
    support = mailbox(
        "support@shop.example",
        imap_enabled=True,
        imap_host=imap_server.host,
        imap_port=imap_server.port,
        imap_ssl=False,
        imap_user=imap_server.user,
        imap_password=imap_server.password,
    )
    imap_server.deliver(raw_email())

    response = admin_client_.post(
        reverse("admin:messaging_mailbox_changelist"),
        {"action": "poll_now", "_selected_action": [support.pk]},
        follow=True,
    )

    assert "Polled support@shop.example: 1 new e-mails." in response.content.decode()
    assert Ticket.objects.count() == 1


def test_the_email_log_is_read_only_and_masks_the_customers_address(admin_client_):
    from messaging.inbound import email_receive
    from messaging.models import EmailMessage
    from tests.factories import mailbox, raw_email

    mailbox("support@shop.example")
    email_receive(raw=raw_email(sender="zhang.wei@example.com"))
    email_receive(raw=raw_email(sender="zhang.wei@example.com", headers={"Precedence": "bulk"}))
    email = EmailMessage.objects.first()

    listing = admin_client_.get(reverse("admin:messaging_emailmessage_changelist"))
    page = listing.content.decode()
    assert listing.status_code == 200
    assert "z***@example.com" in page
    assert "zhang.wei@example.com" not in page
    detail = admin_client_.get(reverse("admin:messaging_emailmessage_change", args=[email.pk]))
    assert detail.status_code == 200
    assert "zhang.wei@example.com" not in detail.content.decode()
    assert admin_client_.get(reverse("admin:messaging_emailmessage_add")).status_code == 403
