"""Attachments on ticket messages: customers' and agents' files, in the API and on the desk.

A message carries at most five images or PDFs, checked by their content; they are stored with
the message in the same transaction, and a refused file writes nothing. Internal-note files are
as internal as the note. On the desk a file is downloaded through the ticket it belongs to: a
ticket the user may not see is a 404, its files too.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from csplatform.actors import Actor
from tests.factories import (
    EXE_BYTES,
    HTML_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    CustomerFactory,
    TeamFactory,
    TicketFactory,
    online_agent,
    ticket_state,
    upload_file,
)
from tickets import services
from tickets.choices import AuthorKind, TicketEventType, TicketStatus
from tickets.models import Attachment, Message, Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

NOW = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HTMX = {"HTTP_HX_REQUEST": "true"}
STOREFRONT = Actor(kind="api_key", label="shop")


@pytest.fixture
def ticket(team):
    return TicketFactory(team=team, status=TicketStatus.OPEN)


def session_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()]


def messages_url(ticket: Ticket) -> str:
    return f"/api/v1/tickets/{ticket.number}/messages/"


# --- Services ---------------------------------------------------------------------------------


def test_an_agent_reply_keeps_its_files_with_the_checked_type_and_a_safe_name(ticket, agent, media):
    message = services.ticket_reply(
        ticket=ticket,
        user=agent,
        body="发票和照片见附件",
        attachments=[
            upload_file("../发票.jpg", PDF_BYTES, "image/jpeg"),
            upload_file("photo.png", PNG_BYTES, "image/png"),
        ],
        now=NOW,
    )

    files = list(message.attachments.order_by("id"))
    assert [(a.name, a.content_type, a.size) for a in files] == [
        ("发票.pdf", "application/pdf", len(PDF_BYTES)),
        ("photo.png", "image/png", len(PNG_BYTES)),
    ]
    assert files[0].file.name.startswith("attachments/")
    assert "发票" not in files[0].file.name
    assert files[0].file.read() == PDF_BYTES
    event = TicketEvent.objects.get(ticket=ticket, type=TicketEventType.REPLIED)
    assert event.payload == {"attachments": 2}


def test_a_refused_file_writes_nothing_at_all(ticket, agent, media):
    before = ticket_state(ticket)

    with pytest.raises(services.DomainError) as caught:
        services.ticket_reply(
            ticket=ticket,
            user=agent,
            body="see attached",
            attachments=[upload_file("ok.png"), upload_file("invoice.png", EXE_BYTES)],
            now=NOW,
        )

    assert caught.value.code == "attachment_type"
    assert "File 2" in caught.value.detail
    assert ticket_state(ticket) == before
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_a_reply_whose_status_change_is_refused_leaves_no_file_behind(team, agent, media):
    solved = TicketFactory(team=team, status=TicketStatus.SOLVED)

    with pytest.raises(services.ConflictError):
        services.ticket_reply(
            ticket=solved,
            user=agent,
            body="set pending",
            then_status=TicketStatus.PENDING,
            attachments=[upload_file()],
            now=NOW,
        )

    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def test_more_than_five_files_on_one_message_are_refused(ticket, agent):
    with pytest.raises(services.DomainError) as caught:
        services.ticket_reply(
            ticket=ticket,
            user=agent,
            body="six photos",
            attachments=[upload_file(f"p{i}.png") for i in range(6)],
            now=NOW,
        )

    assert caught.value.code == "too_many_attachments"
    assert not Message.objects.filter(ticket=ticket).exists()


def test_a_customer_message_on_a_closed_ticket_takes_its_files_to_the_follow_up(team):
    closed = TicketFactory(team=team, status=TicketStatus.CLOSED)

    follow_up, message = services.ticket_customer_message(
        ticket=closed,
        body="又坏了，照片见附件",
        attachments=[upload_file("broken.png")],
        actor=STOREFRONT,
        now=NOW,
    )

    assert follow_up.pk != closed.pk
    assert message.ticket_id == follow_up.pk
    assert [a.name for a in message.attachments.all()] == ["broken.png"]


def test_the_first_message_of_a_new_ticket_may_carry_files():
    ticket = services.ticket_create(
        customer=CustomerFactory(),
        kind="after_sales",
        channel="app",
        subject="收到的商品有破损",
        body="照片见附件",
        attachments=[upload_file("damage.png"), upload_file("receipt.pdf", PDF_BYTES)],
        actor=STOREFRONT,
        now=NOW,
    )

    first = ticket.messages.get()
    assert sorted(a.content_type for a in first.attachments.all()) == [
        "application/pdf",
        "image/png",
    ]
    created = TicketEvent.objects.get(ticket=ticket, type=TicketEventType.CREATED)
    assert created.payload["attachments"] == 2


# --- API --------------------------------------------------------------------------------------


def test_the_storefront_posts_a_customer_message_with_files_as_multipart(storefront, ticket):
    response = storefront.post(
        messages_url(ticket),
        {
            "body": "照片见附件",
            "attachments": [upload_file("a.png"), upload_file("b.jpg", PDF_BYTES, "image/jpeg")],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    [message] = response.json()["messages"]
    assert message["author"] == AuthorKind.CUSTOMER
    assert [(a["name"], a["content_type"]) for a in message["attachments"]] == [
        ("a.png", "image/png"),
        ("b.pdf", "application/pdf"),
    ]
    assert set(message["attachments"][0]) == {"id", "name", "content_type", "size"}


def test_json_messages_still_work_and_show_no_attachments(storefront, ticket):
    response = storefront.post(messages_url(ticket), {"body": "还在吗？"}, format="json")

    assert response.status_code == 201
    assert response.json()["messages"][0]["attachments"] == []


def test_an_agent_posts_an_internal_note_with_a_file_the_storefront_never_sees(
    storefront, ticket, agent
):
    agent_api = session_client(agent)
    reply = agent_api.post(
        messages_url(ticket),
        {"body": "客户的照片", "attachments": [upload_file("customer.png")]},
        format="multipart",
    )
    note = agent_api.post(
        messages_url(ticket),
        {
            "body": "内部：供应商发票",
            "internal": "true",
            "attachments": [upload_file("x.pdf", PDF_BYTES)],
        },
        format="multipart",
    )

    assert reply.status_code == 201, reply.json()
    assert note.status_code == 201, note.json()
    agent_view = agent_api.get(f"/api/v1/tickets/{ticket.number}/").json()
    assert [
        (m["internal"], [a["name"] for a in m["attachments"]]) for m in agent_view["messages"]
    ] == [
        (False, ["customer.png"]),
        (True, ["x.pdf"]),
    ]
    shown = storefront.get(f"/api/v1/tickets/{ticket.number}/").json()
    assert [[a["name"] for a in m["attachments"]] for m in shown["messages"]] == [["customer.png"]]
    assert "x.pdf" not in str(shown)


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ([("photo.png", HTML_BYTES)], "attachment_type"),
        ([("setup.png", EXE_BYTES)], "attachment_type"),
        ([("empty.png", b"")], "attachment_empty"),
        ([(f"p{i}.png", PNG_BYTES) for i in range(6)], "too_many_attachments"),
    ],
)
def test_refused_files_are_400_with_a_stable_code_and_nothing_is_written(
    storefront, ticket, media, files, code
):
    before = ticket_state(ticket)

    response = storefront.post(
        messages_url(ticket),
        {"body": "附件", "attachments": [upload_file(n, c) for n, c in files]},
        format="multipart",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["errors"] == {"attachments": [body["detail"]]}
    assert "<script>" not in str(body)
    assert ticket_state(ticket) == before
    assert stored_files(media) == []


def test_a_large_file_within_the_limit_is_stored_whole(storefront, ticket):
    # Over Django's in-memory threshold (2.5 MB): the upload arrives as a temporary file.
    content = PDF_BYTES + b"%" * (3 * 1024 * 1024)

    response = storefront.post(
        messages_url(ticket),
        {"body": "扫描件", "attachments": [upload_file("scan.pdf", content, "application/pdf")]},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    attachment = Attachment.objects.get()
    assert attachment.size == len(content)
    with attachment.file.open("rb") as stored:
        assert stored.read() == content


def test_a_file_over_the_size_limit_is_400_naming_the_limit(storefront, ticket, settings):
    settings.UPLOAD_MAX_BYTES = 50

    response = storefront.post(
        messages_url(ticket),
        {"body": "附件", "attachments": [upload_file("big.pdf", PDF_BYTES)]},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "attachment_too_large"
    assert "50\xa0bytes" in response.json()["detail"]


def test_a_body_larger_than_five_files_could_be_is_refused_before_it_is_parsed(
    storefront, ticket, settings
):
    settings.UPLOAD_MAX_BYTES = 10

    response = storefront.post(
        messages_url(ticket),
        {"body": "附件", "attachments": [upload_file("big.pdf", PDF_BYTES * 20000)]},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "attachment_too_large"


def test_a_form_encoded_message_is_415_in_the_error_shape(storefront, ticket):
    response = storefront.post(
        messages_url(ticket),
        "body=hello",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_the_schema_documents_json_and_multipart_and_the_attachments_of_messages():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    post = schema["paths"]["/api/v1/tickets/{number}/messages/"]["post"]
    content = post["requestBody"]["content"]

    assert set(content) == {"application/json", "multipart/form-data"}
    multipart = schema["components"]["schemas"]["MessageMultipartInputRequest"]
    assert multipart["properties"]["attachments"]["items"] == {"type": "string", "format": "binary"}
    assert multipart["properties"]["attachments"]["maxItems"] == 5
    assert {"400", "415"} <= set(post["responses"])
    attachment = schema["components"]["schemas"]["Attachment"]
    assert set(attachment["properties"]) == {"id", "name", "content_type", "size"}


# --- Desk -------------------------------------------------------------------------------------


def test_the_reply_form_uploads_files_and_the_conversation_shows_them(client, agent, ticket):
    client.force_login(agent)
    page = client.get(f"/desk/tickets/{ticket.number}/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" id="reply-attachments" name="attachments" multiple' in page

    response = client.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {
            "body": "请查收",
            "action": "reply",
            "attachments": [upload_file("label.png"), upload_file("invoice.pdf", PDF_BYTES)],
        },
        **HTMX,
    )

    assert response.status_code == 200
    png, pdf = Attachment.objects.order_by("id")
    conversation = response.content.decode().split('id="conversation"', 1)[1].split("</section>")[0]
    png_url = f"/desk/tickets/{ticket.number}/attachments/{png.pk}/"
    pdf_url = f"/desk/tickets/{ticket.number}/attachments/{pdf.pk}/"
    assert f'<img class="thumb" src="{png_url}"' in conversation
    assert f'<a href="{pdf_url}" download>invoice.pdf</a>' in conversation


def test_a_refused_file_on_the_desk_is_shown_inline_and_the_draft_stays(client, agent, ticket):
    client.force_login(agent)

    response = client.post(
        f"/desk/tickets/{ticket.number}/reply/",
        {"body": "草稿", "action": "reply", "attachments": [upload_file("x.png", HTML_BYTES)]},
        **HTMX,
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="reply-error"' in page
    assert "not one of the accepted types" in page
    assert ">草稿</textarea>" in page
    assert not Message.objects.filter(ticket=ticket).exists()


def test_a_file_downloads_with_its_checked_type_name_and_no_sniffing(client, agent, ticket):
    message = services.ticket_reply(
        ticket=ticket,
        user=agent,
        body="x",
        attachments=[upload_file("发票.jpg", PDF_BYTES, "image/jpeg")],
        now=NOW,
    )
    attachment = message.attachments.get()
    client.force_login(agent)

    response = client.get(f"/desk/tickets/{ticket.number}/attachments/{attachment.pk}/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "%E5%8F%91%E7%A5%A8.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_another_teams_agent_gets_404_for_the_file_and_a_file_only_opens_through_its_ticket(
    client, agent, ticket, team
):
    message = services.ticket_reply(
        ticket=ticket, user=agent, body="x", attachments=[upload_file()], now=NOW
    )
    attachment = message.attachments.get()
    outsider = online_agent(TeamFactory(name="Live-stream desk"), username="zhou.jie")
    other_ticket = TicketFactory(team=team)
    url = f"/desk/tickets/{ticket.number}/attachments/{attachment.pk}/"

    client.force_login(outsider)
    assert client.get(url).status_code == 404

    client.force_login(agent)
    assert client.get(url).status_code == 200
    assert (
        client.get(f"/desk/tickets/{other_ticket.number}/attachments/{attachment.pk}/").status_code
        == 404
    )
    assert client.get(f"/desk/tickets/{ticket.number}/attachments/999999/").status_code == 404


def test_signed_out_visitors_are_sent_to_log_in_for_a_file(client, agent, ticket):
    message = services.ticket_reply(
        ticket=ticket, user=agent, body="x", attachments=[upload_file()], now=NOW
    )
    url = f"/desk/tickets/{ticket.number}/attachments/{message.attachments.get().pk}/"

    response = client.get(url)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_merged_messages_take_their_files_along(client, agent, ticket, team):
    target = TicketFactory(team=team, customer=ticket.customer)
    message = services.ticket_reply(
        ticket=ticket, user=agent, body="x", attachments=[upload_file()], now=NOW
    )
    services.ticket_merge(source=ticket, target=target, by_user=agent, now=NOW + timedelta(1))
    attachment = message.attachments.get()
    client.force_login(agent)

    assert (
        client.get(f"/desk/tickets/{target.number}/attachments/{attachment.pk}/").status_code == 200
    )
