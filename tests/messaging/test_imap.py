"""IMAP polling against a real IMAP server (a throwaway Dovecot, ``imap_server.py``): new mail
is read by UID through the same service as the webhook, a rebuilt folder is read again without
duplicates, a failure mid-batch resumes where it stopped, one mailbox's failure does not stop
the others, and the logs never quote a customer."""

import logging

import pytest
from django.dispatch import receiver

from messaging.imap import PollResult, mailbox_poll, mailboxes_poll
from messaging.models import EmailMessage
from messaging.tasks import mailboxes_poll_task
from tests.factories import mailbox, raw_email
from tests.messaging.imap_server import free_port
from tickets.models import Message, Ticket
from tickets.signals import ticket_event_recorded

pytestmark = pytest.mark.django_db

FOLDER = "Support"


@pytest.fixture
def polled(imap_server, settings):
    settings.IMAP_ALLOW_PLAINTEXT = True  # the local server speaks plain IMAP on 127.0.0.1
    client = imap_server.client()
    client.create(FOLDER)
    client.logout()
    return mailbox(
        "support@shop.example",
        imap_enabled=True,
        imap_host=imap_server.host,
        imap_port=imap_server.port,
        imap_ssl=False,
        imap_user=imap_server.user,
        imap_password=imap_server.password,
        imap_folder=FOLDER,
    )


def _deliver(server, n: int, start: int = 0, **kwargs) -> list[str]:
    ids = []
    for i in range(start, start + n):
        message_id = f"mail{i}@mail.example.com"
        server.deliver(raw_email(subject=f"Question {i}", message_id=message_id, **kwargs), FOLDER)
        ids.append(message_id)
    return ids


def test_new_mail_is_read_by_uid_and_becomes_tickets(imap_server, polled):
    _deliver(imap_server, 3)

    result = mailbox_poll(mailbox=polled)

    assert (result.taken, result.error) == (3, "")
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Question 0",
        "Question 1",
        "Question 2",
    ]
    polled.refresh_from_db()
    assert polled.imap_last_uid == 3
    assert polled.imap_uidvalidity is not None
    assert polled.imap_polled_at is not None
    # Read again: nothing new, nothing taken twice.
    assert mailbox_poll(mailbox=polled).taken == 0
    _deliver(imap_server, 1, start=3)
    assert mailbox_poll(mailbox=polled).taken == 1
    assert Ticket.objects.count() == 4


def test_a_reply_read_by_imap_threads_onto_its_ticket(imap_server, polled):
    _deliver(imap_server, 1)
    mailbox_poll(mailbox=polled)
    ticket = Ticket.objects.get()
    imap_server.deliver(
        raw_email(subject="Re: Question 0", headers={"In-Reply-To": "<mail0@mail.example.com>"}),
        FOLDER,
    )
    mailbox_poll(mailbox=polled)
    assert Ticket.objects.count() == 1
    assert ticket.messages.count() == 2


def test_the_mail_is_left_unread_on_the_server(imap_server, polled):
    _deliver(imap_server, 1)
    mailbox_poll(mailbox=polled)
    client = imap_server.client()
    client.select(FOLDER, readonly=True)
    _, unseen = client.search(None, "UNSEEN")
    client.logout()
    assert unseen[0].split() == [b"1"]


def test_a_rebuilt_folder_is_read_again_without_duplicates(imap_server, polled):
    _deliver(imap_server, 2)
    mailbox_poll(mailbox=polled)
    polled.refresh_from_db()
    old_validity = polled.imap_uidvalidity

    # The folder is rebuilt (a migration of the mail server): new UIDVALIDITY, UIDs from 1,
    # the two old mails and a new one.
    imap_server.recreate(FOLDER)
    _deliver(imap_server, 3)
    result = mailbox_poll(mailbox=polled)

    polled.refresh_from_db()
    assert polled.imap_uidvalidity != old_validity
    assert polled.imap_last_uid == 3
    assert result.taken == 3  # read, two of them recognised by their Message-ID
    assert Ticket.objects.count() == 3
    assert EmailMessage.objects.filter(direction="in").count() == 3


def test_a_failure_mid_batch_resumes_after_the_last_mail_taken_without_duplicates(
    imap_server,
    polled,
    caplog,
):
    _deliver(imap_server, 4, sender="Zhang Wei <zhang.wei@example.com>")
    failures = []

    # The third mail's transaction fails once (the database, a deadlock): fault injection in
    # a collaborator, inside the transaction that records the mail.
    @receiver(ticket_event_recorded)
    def fail_once(sender, event, message=None, **kwargs):
        if message is not None and event.ticket.subject == "Question 2" and not failures:
            failures.append(event)
            raise RuntimeError("zhang.wei@example.com: deadlock detected")

    try:
        with caplog.at_level(logging.INFO, logger="messaging"):
            first = mailbox_poll(mailbox=polled)
        assert first.taken == 2
        assert "RuntimeError" in first.error
        polled.refresh_from_db()
        assert polled.imap_last_uid == 2
        assert "RuntimeError" in polled.imap_last_error
        assert Ticket.objects.count() == 2
        # Logged by kind, without the customer's address the failure quoted.
        assert "zhang.wei" not in caplog.text
        assert "polling stopped" in caplog.text

        second = mailbox_poll(mailbox=polled)
    finally:
        ticket_event_recorded.disconnect(fail_once)

    assert (second.taken, second.error) == (2, "")
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        f"Question {i}" for i in range(4)
    ]
    assert Message.objects.count() == 4


def test_a_crash_before_the_uid_is_recorded_reads_the_mail_again_once(imap_server, polled):
    _deliver(imap_server, 3)
    mailbox_poll(mailbox=polled, limit=2)
    # The worker died after committing mail 2 and before recording its UID.
    type(polled).objects.filter(pk=polled.pk).update(imap_last_uid=1)
    polled.refresh_from_db()

    mailbox_poll(mailbox=polled)

    polled.refresh_from_db()
    assert polled.imap_last_uid == 3
    assert Ticket.objects.count() == 3
    assert EmailMessage.objects.count() == 3


def test_one_mailboxs_failure_does_not_stop_the_others(imap_server, polled):
    # Polled first (by address): a server that is not there.
    broken = mailbox(
        "sales@shop.example",
        imap_enabled=True,
        imap_host="127.0.0.1",
        imap_port=free_port(),
        imap_ssl=False,
        imap_user="sales",
        imap_password="secret",
    )
    _deliver(imap_server, 1)

    results = mailboxes_poll()

    assert results[broken.pk].error == "Connection failed (ConnectionRefusedError)"
    assert results[polled.pk] == PollResult(taken=1)
    broken.refresh_from_db()
    assert broken.imap_last_error == "Connection failed (ConnectionRefusedError)"
    assert broken.imap_last_uid == 0


def test_a_refused_login_is_kept_on_the_mailbox_without_the_servers_words(imap_server, polled):
    polled.imap_password = "wrong password"
    polled.save()
    _deliver(imap_server, 1)
    result = mailbox_poll(mailbox=polled)
    assert result == PollResult(error="IMAP error (login or command refused)")
    polled.refresh_from_db()
    assert polled.imap_last_error == "IMAP error (login or command refused)"


def test_a_mailbox_without_tls_is_not_read_in_production(imap_server, polled, settings):
    settings.IMAP_ALLOW_PLAINTEXT = False
    _deliver(imap_server, 1)
    result = mailbox_poll(mailbox=polled)
    assert "neither TLS nor STARTTLS" in result.error
    assert not Ticket.objects.exists()


def test_the_beat_task_polls_only_enabled_mailboxes(imap_server, polled):
    mailbox("off@shop.example", imap_enabled=False, imap_host="127.0.0.1", imap_port=9)
    _deliver(imap_server, 2)
    assert mailboxes_poll_task() == 2


@pytest.mark.parametrize(
    ("imap_ssl", "imap_starttls", "port"),
    [(True, False, "tls_port"), (False, True, "port")],
    ids=["implicit-tls", "starttls"],
)
def test_a_mailbox_is_read_over_tls_or_starttls(
    imap_server, polled, settings, monkeypatch, imap_ssl, imap_starttls, port
):
    settings.IMAP_ALLOW_PLAINTEXT = False
    # The client trusts the server's self-signed certificate, as it would a real CA's.
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.ca_file))
    polled.imap_ssl, polled.imap_starttls = imap_ssl, imap_starttls
    polled.imap_port = getattr(imap_server, port)
    polled.save()
    _deliver(imap_server, 1)

    assert mailbox_poll(mailbox=polled) == PollResult(taken=1)


def test_a_server_certificate_that_is_not_trusted_is_refused(imap_server, polled, settings):
    settings.IMAP_ALLOW_PLAINTEXT = False
    polled.imap_ssl, polled.imap_port = True, imap_server.tls_port
    polled.save()
    _deliver(imap_server, 1)
    assert mailbox_poll(mailbox=polled).error == "TLS error"
    assert not Ticket.objects.exists()


def test_a_message_that_is_no_e_mail_is_passed_over_and_the_rest_read(imap_server, polled):
    imap_server.deliver(b"Subject: no sender at all\r\n\r\nnoise\r\n", FOLDER)
    _deliver(imap_server, 1)

    result = mailbox_poll(mailbox=polled)

    assert result == PollResult(taken=1, skipped=1)
    polled.refresh_from_db()
    assert polled.imap_last_uid == 2
    assert Ticket.objects.count() == 1
