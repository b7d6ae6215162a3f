"""Erasure and uploaded files: the customer's message attachments and return evidence leave
storage once the erasure commits, and no row references them; other customers' files stay; an
erasure that rolls back deletes nothing."""

import pytest
from django.db import transaction

from csplatform.actors import Actor
from privacy.erasure import linked_tables
from privacy.services import customer_erase, stored_files_delete
from refunds.models import ReturnEvidence
from refunds.services import return_evidence_add
from tests.factories import PDF_BYTES, upload_file
from tests.refunds.helpers import DAY, DELIVERED, STOREFRONT, delivered_order, file_request
from tickets.models import Attachment
from tickets.services import ticket_customer_message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media", "clock")]

NOW = DELIVERED + 2 * DAY


def stored_files(media) -> set[str]:
    return {p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()}


def customer_with_files():
    """A customer with a return (2 evidence files) whose ticket has a message with 2 files."""
    request = file_request(delivered_order(), reason="size_fit", now=NOW)
    return_evidence_add(
        request=request,
        files=[upload_file("破损.png"), upload_file("发票.pdf", PDF_BYTES, "application/pdf")],
        actor=STOREFRONT,
        now=NOW,
    )
    ticket_customer_message(
        ticket=request.ticket,
        body="照片见附件",
        attachments=[upload_file("box.png"), upload_file("label.png")],
        actor=STOREFRONT,
        now=NOW,
    )
    return request.order.customer


def files_of(customer) -> set[str]:
    attachments = Attachment.objects.filter(message__ticket__customer=customer)
    evidence = ReturnEvidence.objects.filter(request__order__customer=customer)
    return {a.file.name for a in attachments} | {e.file.name for e in evidence}


def erase(customer):
    return customer_erase(customer=customer, requested_by=Actor.system("privacy-desk"), now=NOW)


def test_erasure_deletes_the_customers_uploaded_files_after_commit(
    media, django_capture_on_commit_callbacks
):
    customer = customer_with_files()
    other = customer_with_files()
    theirs, others = files_of(customer), files_of(other)
    assert len(theirs) == 4
    assert theirs <= stored_files(media)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record = erase(customer)
    assert theirs <= stored_files(media)  # nothing leaves storage before the commit
    for callback in callbacks:
        callback()

    assert not theirs & stored_files(media)
    assert stored_files(media) == others  # the other customer's files stay
    assert files_of(customer) == {""}  # the rows stay, without a file
    assert Attachment.objects.filter(message__ticket__customer=customer).count() == 2
    assert ReturnEvidence.objects.filter(request__order__customer=customer).count() == 2
    assert files_of(other) == others
    assert record.files_deleted == 4
    assert record.rows_by_table["tickets.Attachment"] == 2
    assert record.rows_by_table["refunds.ReturnEvidence"] == 2


def test_with_the_broker_down_the_erasure_deletes_the_files_itself(
    media, django_capture_on_commit_callbacks, caplog
):
    """No sweep would come back for the files of a deletion task the broker refused."""
    from unittest import mock

    from kombu.exceptions import OperationalError

    from privacy.tasks import stored_files_delete_task

    customer = customer_with_files()
    theirs = files_of(customer)
    refused = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with (
        mock.patch.object(stored_files_delete_task, "delay", side_effect=refused) as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        erase(customer)

    queued.assert_called_once()
    assert not theirs & stored_files(media)
    assert "Could not queue privacy.tasks.stored_files_delete_task" in caplog.text


def test_a_rolled_back_erasure_deletes_nothing(media, django_capture_on_commit_callbacks):
    customer = customer_with_files()
    theirs = files_of(customer)

    with (  # noqa: PT012 - the raise must happen inside the transaction it rolls back
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        erase(customer)
        raise RuntimeError("the request failed after the erasure")

    assert callbacks == []
    assert stored_files(media) == theirs
    assert files_of(customer) == theirs


def test_every_file_column_linked_to_a_customer_is_covered():
    covered = {(t.label, f) for t in linked_tables() for f in t.file_fields}
    assert {("tickets.Attachment", "file"), ("refunds.ReturnEvidence", "file")} <= covered


def test_the_erased_files_show_as_erased_on_the_desk_and_their_download_is_a_404(
    client, django_capture_on_commit_callbacks
):
    from tests.refunds.helpers import desk_agent

    customer = customer_with_files()
    attachment = Attachment.objects.filter(message__ticket__customer=customer).first()
    ticket = attachment.message.ticket
    with django_capture_on_commit_callbacks(execute=True):
        erase(customer)
    client.force_login(desk_agent())

    page = client.get(f"/desk/tickets/{ticket.number}/")
    download = client.get(f"/desk/tickets/{ticket.number}/attachments/{attachment.pk}/")

    assert page.status_code == 200
    assert "file erased" in page.content.decode()
    assert download.status_code == 404


def test_deleting_is_idempotent_and_keeps_a_file_a_row_references(media):
    customer = customer_with_files()
    kept = Attachment.objects.filter(message__ticket__customer=customer).first().file.name
    files = [["tickets.Attachment", "file", kept], ["tickets.Attachment", "file", "gone.png"]]

    assert stored_files_delete(files=files) == 1  # the missing file is no error
    assert kept in stored_files(media)
