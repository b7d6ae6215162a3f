"""Files that customers and agents attach: ticket messages and return evidence.

One checker for both apps. A file is accepted for what its bytes are, never for the type or
extension the client claims: the first bytes are sniffed (``filetype``) and only images (JPEG,
PNG, GIF, WebP) and PDFs pass. Files are stored under a random name in the default storage; the
name the customer gave is kept for display only, reduced to a safe basename. Refusals are 400
with a stable ``code`` that name the limit, never the file's content.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any

import filetype
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files import File
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, MultiPartParser

from csplatform.errors import InvalidInput

# The sniffed type and the extension files of that type are stored and offered with.
ALLOWED_CONTENT_TYPES = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
}
IMAGE_CONTENT_TYPES = frozenset(t for t in ALLOWED_CONTENT_TYPES if t.startswith("image/"))
# Extensions a kept name may already end with for each type (others get the canonical one).
_EXTENSIONS = {
    "image/jpeg": {"jpg", "jpeg", "jpe"},
    "image/png": {"png"},
    "image/gif": {"gif"},
    "image/webp": {"webp"},
    "application/pdf": {"pdf"},
}
# What a file input offers the browser to choose from; the server decides by content anyway.
ACCEPT_ATTRIBUTE = ",".join(ALLOWED_CONTENT_TYPES)
MAX_PER_MESSAGE = 5
MAX_PER_RETURN_REQUEST = 10
NAME_MAX_LENGTH = 120
_SNIFF_BYTES = 8192
# Room for the form fields and multipart boundaries around the files themselves.
_REQUEST_OVERHEAD_BYTES = 1024 * 1024


class UploadRefused(InvalidInput):
    """400: a file of a refused type, too large, empty, or one file too many."""

    code = "attachment_invalid"


@dataclass(frozen=True)
class CheckedUpload:
    """An uploaded file that passed the checks, with what the row keeps of it."""

    upload: File
    name: str
    content_type: str
    size: int

    def as_file(self) -> File:
        """The content under a fresh random name: customers' names never reach the disk."""
        self.upload.seek(0)
        extension = ALLOWED_CONTENT_TYPES[self.content_type]
        return File(self.upload, name=f"{uuid.uuid4().hex}.{extension}")


def upload_max_bytes() -> int:
    return settings.UPLOAD_MAX_BYTES


def _allowed_types_label() -> str:
    return _("images (JPEG, PNG, GIF, WebP) or PDF")


def _refuse(detail: str, *, code: str, field: str) -> UploadRefused:
    return UploadRefused(detail, code=code, errors={field: [detail]})


def _name_char(ch: str) -> str:
    kind = unicodedata.category(ch)[0]
    if kind == "C":  # control, format (bidi overrides), unassigned: dropped
        return ""
    return " " if kind == "Z" else ch


def safe_name(raw: str | None, content_type: str) -> str:
    """The client's file name as something safe to show and to offer for download.

    The basename only (either slash), no control or format characters, no leading dots,
    at most ``NAME_MAX_LENGTH`` characters, and an extension that matches the sniffed type.
    """
    text = str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(_name_char(ch) for ch in text)
    text = " ".join(text.split()).lstrip(". ").rstrip(". ")
    path = PurePosixPath(text) if text else PurePosixPath("attachment")
    stem, suffix = path.stem, path.suffix.lstrip(".").lower()
    if suffix not in _EXTENSIONS[content_type]:
        # Another accepted type's extension is replaced ("photo.jpg" of PDF bytes is
        # "photo.pdf"); anything else stays part of the name.
        if not any(suffix in extensions for extensions in _EXTENSIONS.values()):
            stem = path.name
        suffix = ALLOWED_CONTENT_TYPES[content_type]
    stem = stem[: NAME_MAX_LENGTH - len(suffix) - 1].rstrip(". ") or "attachment"
    return f"{stem}.{suffix}"


def sniff_content_type(upload: File) -> str | None:
    """The type the file's first bytes show, if it is one of the allowed types."""
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    upload.seek(0)
    if not head:
        return None
    guessed = filetype.guess_mime(bytes(head))
    return guessed if guessed in ALLOWED_CONTENT_TYPES else None


def uploads_check(
    files: Sequence[File] | None,
    *,
    max_count: int,
    already: int = 0,
    field: str = "attachments",
) -> list[CheckedUpload]:
    """Check every file before anything is written; the first refusal raises ``UploadRefused``.

    ``already`` counts the files the message or request holds before these.
    """
    files = list(files or [])
    if already + len(files) > max_count:
        detail = ngettext(
            "At most %(limit)d file may be attached here.",
            "At most %(limit)d files may be attached here.",
            max_count,
        ) % {"limit": max_count}
        if already:
            detail = "{} {}".format(
                detail,
                ngettext(
                    "%(count)d is already attached.", "%(count)d are already attached.", already
                )
                % {"count": already},
            )
        raise _refuse(detail, code="too_many_attachments", field=field)
    limit = upload_max_bytes()
    checked = []
    for position, upload in enumerate(files, start=1):
        size = upload.size or 0
        if size > limit:
            raise _refuse(
                _("File %(position)d is larger than the limit of %(limit)s per file.")
                % {"position": position, "limit": filesizeformat(limit)},
                code="attachment_too_large",
                field=field,
            )
        if size == 0:
            raise _refuse(
                _("File %(position)d is empty.") % {"position": position},
                code="attachment_empty",
                field=field,
            )
        content_type = sniff_content_type(upload)
        if content_type is None:
            raise _refuse(
                _("File %(position)d is not one of the accepted types: %(types)s.")
                % {"position": position, "types": _allowed_types_label()},
                code="attachment_type",
                field=field,
            )
        checked.append(
            CheckedUpload(
                upload=upload,
                name=safe_name(getattr(upload, "name", ""), content_type),
                content_type=content_type,
                size=size,
            )
        )
    return checked


def upload_request_check(
    meta: Mapping[str, Any], *, max_count: int, field: str = "attachments"
) -> None:
    """Refuse a request body larger than its files could lawfully be, before reading it."""
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > max_count * upload_max_bytes() + _REQUEST_OVERHEAD_BYTES:
        raise _refuse(
            ngettext(
                "The upload is too large: at most %(count)d file of %(limit)s.",
                "The upload is too large: at most %(count)d files of %(limit)s each.",
                max_count,
            )
            % {"count": max_count, "limit": filesizeformat(upload_max_bytes())},
            code="attachment_too_large",
            field=field,
        )


class UploadParser(MultiPartParser):
    """multipart/form-data for the API's upload endpoints.

    Refuses an oversized body before reading it (the view's ``upload_max_count`` files at
    most), and answers Django's own upload limits (too many files or fields) as a 400 in the
    API's error shape instead of an HTML error page.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> DataAndFiles[Any, Any]:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        view = parser_context.get("view")
        max_count = getattr(view, "upload_max_count", MAX_PER_RETURN_REQUEST)
        if request is not None:
            upload_request_check(request.META, max_count=max_count)
        try:
            return super().parse(stream, media_type, parser_context)
        except SuspiciousOperation as exc:
            raise ParseError(_("The upload has too many files or fields.")) from exc


def upload_response(file: File, *, name: str, content_type: str) -> FileResponse:
    """Serve a stored upload: its checked type, no sniffing, no scripts.

    Images open in the browser (thumbnails, a click to enlarge); PDFs download.
    """
    try:
        handle = file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle,
        as_attachment=content_type not in IMAGE_CONTENT_TYPES,
        filename=name,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
