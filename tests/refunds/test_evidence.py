"""Evidence on return requests: photos and PDFs from the customer or the agent.

Evidence is taken while the request is not final (requested, approved, awaiting the goods) and
after a rejection within the appeal window, as the new evidence of an appeal; at most ten files
per request, each checked by its content. Every addition is an event on the request's timeline.
The storefront sees the evidence list; the desk lists it on the return panel with downloads that
follow the panel's visibility (another team's agent: 404).
"""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from csplatform.api.errors import error_status
from csplatform.errors import ConflictError, InvalidInput
from refunds.choices import ReturnStatus
from refunds.models import ReturnEvent, ReturnEvidence
from refunds.rules import ReturnRefused
from refunds.services import (
    return_evidence_add,
    return_request_appeal,
    return_request_cancel,
    return_request_reject,
)
from tests.factories import (
    EXE_BYTES,
    HTML_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    TeamFactory,
    agent_user,
    upload_file,
)

from .helpers import DAY, DELIVERED, STOREFRONT, delivered_order, desk_agent, file_request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

NOW = DELIVERED + 2 * DAY
HTMX = {"HTTP_HX_REQUEST": "true"}


def waiting():
    request = file_request(delivered_order(), reason="size_fit", now=NOW)
    assert request.status == ReturnStatus.REQUESTED
    return request


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()]


def evidence_url(request) -> str:
    return f"/api/v1/returns/{request.public_id}/evidence/"


# --- The service ------------------------------------------------------------------------------


def test_evidence_is_stored_with_its_checked_type_and_recorded_as_an_event(media):
    request = waiting()

    evidence = return_evidence_add(
        request=request,
        files=[upload_file("破损.jpg", PDF_BYTES, "image/jpeg"), upload_file("box.png")],
        actor=STOREFRONT,
        now=NOW,
    )

    assert [(e.name, e.content_type, e.uploaded_at) for e in evidence] == [
        ("破损.pdf", "application/pdf", NOW),
        ("box.png", "image/png", NOW),
    ]
    assert evidence[0].file.name.startswith("returns/")
    assert evidence[1].file.read() == PNG_BYTES
    event = ReturnEvent.objects.get(request=request, type="evidence_added")
    assert (event.actor_kind, event.at, event.payload["count"]) == ("api_key", NOW, 2)
    assert event.old_status == event.new_status == ReturnStatus.REQUESTED


@pytest.mark.parametrize("content", [EXE_BYTES, HTML_BYTES])
def test_a_file_that_is_not_an_image_or_pdf_is_refused_and_nothing_is_written(media, content):
    request = waiting()

    with pytest.raises(InvalidInput) as caught:
        return_evidence_add(
            request=request,
            files=[upload_file("ok.png"), upload_file("renamed.png", content)],
            actor=STOREFRONT,
            now=NOW,
        )

    assert caught.value.code == "attachment_type"
    assert caught.value.extra["errors"] == {"files": [caught.value.detail]}
    assert not ReturnEvidence.objects.exists()
    assert not ReturnEvent.objects.filter(type="evidence_added").exists()
    assert stored_files(media) == []


def test_at_most_ten_files_per_request_counting_those_already_there():
    request = waiting()
    return_evidence_add(
        request=request, files=[upload_file() for _ in range(8)], actor=STOREFRONT, now=NOW
    )

    with pytest.raises(InvalidInput) as caught:
        return_evidence_add(
            request=request, files=[upload_file() for _ in range(3)], actor=STOREFRONT, now=NOW
        )

    assert caught.value.code == "too_many_attachments"
    assert "10" in caught.value.detail
    evidence = return_evidence_add(
        request=request, files=[upload_file(), upload_file()], actor=STOREFRONT, now=NOW
    )
    assert len(evidence) == 10


def test_no_file_at_all_is_invalid_input():
    with pytest.raises(InvalidInput):
        return_evidence_add(request=waiting(), files=[], actor=STOREFRONT, now=NOW)


def test_a_final_request_takes_no_evidence():
    request = waiting()
    return_request_cancel(request=request, actor=STOREFRONT, now=NOW)

    with pytest.raises(ConflictError) as caught:
        return_evidence_add(request=request, files=[upload_file()], actor=STOREFRONT, now=NOW)

    assert caught.value.code == "evidence_closed"
    assert error_status(caught.value) == 409


def test_a_rejected_request_takes_evidence_for_an_appeal_within_the_window_then_is_appealed():
    request = waiting()
    return_request_reject(request=request, by_user=desk_agent(), reason="看不出问题", now=NOW)

    return_evidence_add(
        request=request, files=[upload_file("close-up.png")], actor=STOREFRONT, now=NOW + DAY
    )
    appealed = return_request_appeal(
        request=request, description="补充了细节照片", actor=STOREFRONT, now=NOW + DAY
    )

    assert appealed.status == ReturnStatus.REQUESTED
    assert [e.name for e in appealed.evidence.all()] == ["close-up.png"]
    types = list(ReturnEvent.objects.filter(request=request).values_list("type", flat=True))
    assert types[-2:] == ["evidence_added", "appealed"]
    # The new round takes evidence too.
    more = return_evidence_add(
        request=request, files=[upload_file("more.png")], actor=STOREFRONT, now=NOW + DAY
    )
    assert len(more) == 2


def test_after_the_appeal_window_a_rejected_request_takes_no_evidence():
    request = waiting()
    return_request_reject(request=request, by_user=desk_agent(), reason="看不出问题", now=NOW)

    with pytest.raises(ReturnRefused) as caught:
        return_evidence_add(
            request=request,
            files=[upload_file()],
            actor=STOREFRONT,
            now=NOW + 5 * DAY + timedelta(seconds=1),
        )

    assert caught.value.code == "appeal_window_closed"
    assert error_status(caught.value) == 422


# --- The API ----------------------------------------------------------------------------------


def test_the_storefront_uploads_evidence_and_sees_it_on_the_request(storefront, clock):
    request = waiting()

    response = storefront.post(
        evidence_url(request),
        {"files": [upload_file("a.png"), upload_file("b.pdf", PDF_BYTES)]},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    listed = response.json()
    assert [(e["name"], e["content_type"]) for e in listed] == [
        ("a.png", "image/png"),
        ("b.pdf", "application/pdf"),
    ]
    assert set(listed[0]) == {"id", "name", "content_type", "size", "uploaded_at"}
    detail = storefront.get(f"/api/v1/returns/{request.public_id}/").json()
    assert detail["evidence"] == listed
    assert "evidence_added" in [e["type"] for e in detail["timeline"]]


def test_evidence_errors_over_the_api(storefront, clock):
    request = waiting()

    wrong_type = storefront.post(
        evidence_url(request), {"files": [upload_file("x.png", HTML_BYTES)]}, format="multipart"
    )
    nothing = storefront.post(evidence_url(request), {}, format="multipart")
    as_json = storefront.post(evidence_url(request), {"files": []}, format="json")
    unknown = storefront.post(
        "/api/v1/returns/RMA-NOPE/evidence/", {"files": [upload_file()]}, format="multipart"
    )

    assert (wrong_type.status_code, wrong_type.json()["code"]) == (400, "attachment_type")
    assert nothing.status_code == 400
    assert "files" in nothing.json()["errors"]
    assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
    assert unknown.status_code == 404
    return_request_cancel(request=request, actor=STOREFRONT, now=NOW)
    closed = storefront.post(evidence_url(request), {"files": [upload_file()]}, format="multipart")
    assert (closed.status_code, closed.json()["code"]) == (409, "evidence_closed")


def test_desk_users_upload_over_the_api_only_for_requests_they_see(clock):
    request = waiting()
    outsider = agent_user(username="zhou.jie")
    TeamFactory(name="Live-stream desk").members.add(outsider)
    own, other = APIClient(), APIClient()
    own.force_login(desk_agent(username="li.na"))
    other.force_login(outsider)

    assert (
        other.post(evidence_url(request), {"files": [upload_file()]}, format="multipart")
    ).status_code == 404
    response = own.post(evidence_url(request), {"files": [upload_file()]}, format="multipart")
    assert response.status_code == 201
    event = ReturnEvent.objects.get(request=request, type="evidence_added")
    assert (event.actor_kind, event.actor_label) == ("user", "li.na")


def test_the_schema_documents_the_evidence_upload_and_list():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    post = schema["paths"]["/api/v1/returns/{public_id}/evidence/"]["post"]
    components = schema["components"]["schemas"]

    assert list(post["requestBody"]["content"]) == ["multipart/form-data"]
    files = components["ReturnEvidenceInputRequest"]["properties"]["files"]
    assert files["items"] == {"type": "string", "format": "binary"}
    assert (files["minItems"], files["maxItems"]) == (1, 10)
    assert post["responses"]["201"]["content"]["application/json"]["schema"]["type"] == "array"
    assert {"400", "404", "409", "415", "422"} <= set(post["responses"])
    assert "evidence" in components["ReturnOutput"]["properties"]


# --- The desk ---------------------------------------------------------------------------------


def test_the_panel_lists_evidence_with_downloads_and_the_agent_uploads_more(client):
    request = waiting()
    [photo] = return_evidence_add(
        request=request, files=[upload_file("破损.png")], actor=STOREFRONT, now=NOW
    )
    client.force_login(desk_agent(username="li.na"))

    page = client.get(f"/desk/tickets/{request.ticket.number}/").content.decode()
    part = page.split('id="return-panel"', 1)[1].split("</section>", 1)[0]
    url = f"/desk/returns/{request.public_id}/evidence/{photo.pk}/"
    assert f'<img class="thumb" src="{url}"' in part
    assert 'id="evidence-files" name="files" multiple' in part

    response = client.post(
        f"/desk/returns/{request.public_id}/evidence/",
        {"files": [upload_file("发票.pdf", PDF_BYTES)]},
        **HTMX,
    )

    assert response.status_code == 200
    panel = response.content.decode()
    assert "The evidence is added: 2 files in all." in panel
    pdf = ReturnEvidence.objects.get(name="发票.pdf")
    assert f'<a href="/desk/returns/{request.public_id}/evidence/{pdf.pk}/" download>' in panel
    download = client.get(f"/desk/returns/{request.public_id}/evidence/{pdf.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PDF_BYTES


def test_a_refused_upload_on_the_panel_is_shown_inline(client):
    request = waiting()
    client.force_login(desk_agent(username="li.na"))

    response = client.post(
        f"/desk/returns/{request.public_id}/evidence/",
        {"files": [upload_file("x.png", EXE_BYTES)]},
        **HTMX,
    )

    assert response.status_code == 422
    assert "not one of the accepted types" in response.content.decode()
    assert not ReturnEvidence.objects.exists()


def test_another_teams_agent_gets_404_for_evidence_and_its_upload(client):
    request = waiting()
    [photo] = return_evidence_add(request=request, files=[upload_file()], actor=STOREFRONT, now=NOW)
    other = waiting()
    outsider = agent_user(username="zhou.jie")
    TeamFactory(name="Live-stream desk").members.add(outsider)
    client.force_login(outsider)

    url = f"/desk/returns/{request.public_id}/evidence/{photo.pk}/"
    assert client.get(url).status_code == 404
    upload = client.post(f"/desk/returns/{request.public_id}/evidence/", {"files": [upload_file()]})
    assert upload.status_code == 404

    client.force_login(desk_agent(username="li.na"))
    assert client.get(url).status_code == 200
    # A file opens only through its own request.
    assert client.get(f"/desk/returns/{other.public_id}/evidence/{photo.pk}/").status_code == 404


def test_a_final_request_shows_its_evidence_without_the_upload_form(client):
    request = waiting()
    return_evidence_add(request=request, files=[upload_file()], actor=STOREFRONT, now=NOW)
    return_request_cancel(request=request, actor=STOREFRONT, now=NOW)
    client.force_login(desk_agent(username="li.na"))

    page = client.get(f"/desk/tickets/{request.ticket.number}/").content.decode()

    assert 'class="thumb"' in page
    assert 'id="evidence-files"' not in page
