"""The upload checker both apps use: a file is what its bytes are, within a size and a count.

The client's file name and declared content type are claims, never trusted: the type is sniffed
from the content, the kept name is a safe basename, and a refusal is a 400 with a stable code
that names the limit without echoing the file.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from csplatform.api.errors import error_body, error_status
from csplatform.errors import InvalidInput
from csplatform.uploads import (
    MAX_PER_MESSAGE,
    MAX_PER_RETURN_REQUEST,
    NAME_MAX_LENGTH,
    UploadRefused,
    safe_name,
    upload_request_check,
    upload_response,
    uploads_check,
)
from tests.factories import (
    EXE_BYTES,
    GIF_BYTES,
    HTML_BYTES,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    WEBP_BYTES,
    upload_file,
)

pytestmark = pytest.mark.usefixtures("media")

BASE_DIR = Path(__file__).resolve().parents[2]


def refusal(files, **kwargs) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        uploads_check(files, **kwargs)
    return caught.value


# --- Types: sniffed from the content ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "extension"),
    [
        (JPEG_BYTES, "image/jpeg", "jpg"),
        (PNG_BYTES, "image/png", "png"),
        (GIF_BYTES, "image/gif", "gif"),
        (WEBP_BYTES, "image/webp", "webp"),
        (PDF_BYTES, "application/pdf", "pdf"),
    ],
)
def test_images_and_pdfs_are_accepted_by_their_content(content, content_type, extension):
    [checked] = uploads_check(
        [upload_file("file", content, "application/octet-stream")], max_count=5
    )

    assert checked.content_type == content_type
    assert checked.name == f"file.{extension}"
    assert checked.size == len(content)


def test_a_jpg_name_with_pdf_bytes_is_taken_as_a_pdf_and_named_so():
    [checked] = uploads_check([upload_file("receipt.jpg", PDF_BYTES, "image/jpeg")], max_count=5)

    assert checked.content_type == "application/pdf"
    assert checked.name == "receipt.pdf"
    assert checked.as_file().name.endswith(".pdf")


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("invoice.png", EXE_BYTES, "image/png"),
        ("photo.png", HTML_BYTES, "image/png"),
        ("scan.pdf", b"just some text, not a PDF", "application/pdf"),
        ("archive.jpg", b"PK\x03\x04" + b"\x00" * 40, "image/jpeg"),
    ],
)
def test_anything_else_is_refused_whatever_its_name_or_declared_type(name, content, declared):
    refused = refusal([upload_file(name, content, declared)], max_count=5)

    assert refused.code == "attachment_type"
    assert error_status(refused) == 400
    assert isinstance(refused, InvalidInput)
    assert "PDF" in refused.detail
    assert refused.extra["errors"] == {"attachments": [refused.detail]}


def test_a_refusal_never_echoes_the_file_or_its_name():
    refused = refusal([upload_file("张伟-13812345678.png", HTML_BYTES)], max_count=5)

    body = str(error_body(refused))
    assert "script" not in body
    assert "13812345678" not in body
    assert "File 1" in refused.detail


def test_an_empty_file_is_refused():
    assert refusal([upload_file("a.png", b"")], max_count=5).code == "attachment_empty"


# --- Size and count ---------------------------------------------------------------------------


def test_the_size_limit_comes_from_the_setting_and_is_named(settings):
    settings.UPLOAD_MAX_BYTES = len(PDF_BYTES)
    assert uploads_check([upload_file("a.pdf", PDF_BYTES)], max_count=5)

    settings.UPLOAD_MAX_BYTES = len(PDF_BYTES) - 1
    refused = refusal(
        [upload_file("a.png", PNG_BYTES), upload_file("b.pdf", PDF_BYTES)], max_count=5
    )

    assert refused.code == "attachment_too_large"
    assert "File 2" in refused.detail
    assert "bytes" in refused.detail  # the limit, as a size


def test_the_default_limit_is_10_mb_and_the_environment_changes_it():
    script = "from django.conf import settings; print(settings.UPLOAD_MAX_BYTES)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "csplatform.settings.test"}
    env.pop("UPLOAD_MAX_BYTES", None)

    def read(**extra):
        return subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {script}"],
            cwd=BASE_DIR,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()

    assert read() == str(10 * 1024 * 1024)
    assert read(UPLOAD_MAX_BYTES="2048") == "2048"


def test_at_most_five_files_per_message_and_ten_per_return_request():
    assert MAX_PER_MESSAGE == 5
    assert MAX_PER_RETURN_REQUEST == 10
    six = [upload_file(f"p{i}.png") for i in range(6)]

    refused = refusal(six, max_count=MAX_PER_MESSAGE)

    assert refused.code == "too_many_attachments"
    assert "5" in refused.detail
    assert len(uploads_check(six[:5], max_count=MAX_PER_MESSAGE)) == 5


def test_files_already_attached_count_towards_the_limit():
    refused = refusal([upload_file(), upload_file()], max_count=10, already=9, field="files")

    assert refused.code == "too_many_attachments"
    assert "9" in refused.detail
    assert list(refused.extra["errors"]) == ["files"]


def test_a_request_body_larger_than_the_files_could_be_is_refused_before_it_is_read(settings):
    settings.UPLOAD_MAX_BYTES = 1000
    upload_request_check({"CONTENT_LENGTH": str(5 * 1000)}, max_count=5)

    with pytest.raises(UploadRefused) as caught:
        upload_request_check({"CONTENT_LENGTH": str(5 * 1000 + 2 * 1024 * 1024)}, max_count=5)

    assert caught.value.code == "attachment_too_large"


# --- Names and storage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\Users\\li\\Desktop\\发票.PDF", "发票.pdf"),
        (".htaccess", "htaccess.pdf"),
        ("report\u202egpj.pdf", "reportgpj.pdf"),  # a right-to-left override is dropped
        ("line\nbreak.pdf", "linebreak.pdf"),
        ("", "attachment.pdf"),
        ("setup.exe", "setup.exe.pdf"),
    ],
)
def test_the_kept_name_is_a_safe_basename_with_the_right_extension(raw, kept):
    assert safe_name(raw, "application/pdf") == kept


def test_a_long_name_is_cut_but_keeps_its_extension():
    name = safe_name("长" * 500 + ".png", "image/png")

    assert len(name) == NAME_MAX_LENGTH
    assert name.endswith(".png")


def test_files_are_stored_under_a_random_name_not_the_customers(media):
    [checked] = uploads_check([upload_file("张伟的身份证.png")], max_count=5)
    first, second = checked.as_file().name, checked.as_file().name

    assert first != second
    assert "张伟" not in first
    assert first.endswith(".png")
    stored = default_storage.save(first, checked.as_file())
    assert (media / stored).read_bytes() == PNG_BYTES


def test_downloads_carry_the_checked_type_and_are_never_sniffed_or_run(media):
    default_storage.save("x.pdf", ContentFile(PDF_BYTES))
    default_storage.save("x.png", ContentFile(PNG_BYTES))
    with default_storage.open("x.pdf") as pdf_file:
        pdf = upload_response(pdf_file, name="收据.pdf", content_type="application/pdf")
        assert b"".join(pdf.streaming_content) == PDF_BYTES
    with default_storage.open("x.png") as png_file:
        png = upload_response(png_file, name="photo.png", content_type="image/png")
        assert b"".join(png.streaming_content) == PNG_BYTES

    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E6%94%B6%E6%8D%AE.pdf" in pdf["Content-Disposition"]
    assert png["Content-Disposition"] == 'inline; filename="photo.png"'
    for response in (pdf, png):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]
