"""``POST /api/v1/inbound/email/``: the mail provider hands over one raw RFC 822 message.

Authenticated by a key with the ``inbound_email`` scope (a key of its own, given that scope
alone); the message goes to the key's storefront's mailbox it is addressed to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.api.authentication import StorefrontKeyAuthentication
from csplatform.api.permissions import IsStorefront, request_storefront
from csplatform.api.schema import ERROR_RESPONSES, ErrorSerializer
from messaging.choices import INBOUND_IGNORED_REASONS
from messaging.inbound import email_receive


class MailTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The message is larger than the inbound e-mail limit."
    default_code = "email_too_large"


class RawEmailParser(BaseParser):
    """The request body as bytes, refused past ``INBOUND_EMAIL_MAX_BYTES`` (before it is read
    whole when the length is declared)."""

    media_type = "message/rfc822"

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        limit = settings.INBOUND_EMAIL_MAX_BYTES
        request = (parser_context or {}).get("request")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            raise ParseError("Invalid Content-Length.") from None
        if declared > limit:
            raise MailTooLarge()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise MailTooLarge()
        return raw


class RawEmailOctetStreamParser(RawEmailParser):
    media_type = "application/octet-stream"


_RECEIVED = inline_serializer(
    name="InboundEmailReceived",
    fields={
        "status": serializers.ChoiceField(choices=["received"]),
        "ticket": serializers.CharField(help_text="The ticket the mail became a message of."),
        "duplicate": serializers.BooleanField(
            help_text="The same Message-ID was taken before; nothing changed."
        ),
    },
)
_IGNORED = inline_serializer(
    name="InboundEmailIgnored",
    fields={
        "status": serializers.ChoiceField(choices=["ignored"]),
        "reason": serializers.ChoiceField(
            choices=INBOUND_IGNORED_REASONS,
            help_text="Why: an automatic mail (auto_submitted, bulk, auto_reply, null_sender, "
            "bounce), a loop (own_address, rate_limited), a disabled mailbox, or no mailbox "
            "of this key's storefront has the address (unknown_recipient: nothing recorded).",
        ),
        "duplicate": serializers.BooleanField(),
    },
)


class InboundEmailApi(APIView):
    authentication_classes = [StorefrontKeyAuthentication]  # the provider's key, nothing else
    permission_classes = [IsStorefront]
    parser_classes = [RawEmailParser, RawEmailOctetStreamParser]

    @extend_schema(
        operation_id="inbound_email_create",
        summary="Hand over one received e-mail",
        description="The body is the raw message (RFC 822, as received, with its headers). "
        "It goes to the mailbox it is addressed to (To, Cc, Delivered-To; plus-addresses "
        "allowed) and becomes a customer message on the ticket it answers, or a new ticket: "
        "202. Auto-replies, bounces, bulk mail and loops open nothing: 200 with the reason. "
        "The same Message-ID twice is taken once. Needs a key with the `inbound_email` scope.",
        request={
            "message/rfc822": OpenApiTypes.BINARY,
            "application/octet-stream": OpenApiTypes.BINARY,
        },
        responses={
            202: OpenApiResponse(_RECEIVED, description="Received onto a ticket"),
            200: OpenApiResponse(_IGNORED, description="Ignored, with the reason"),
            413: OpenApiResponse(ErrorSerializer, description="Larger than the limit"),
            **ERROR_RESPONSES,
        },
        examples=[
            OpenApiExample(
                "received",
                value={"status": "received", "ticket": "T-000123", "duplicate": False},
                response_only=True,
                status_codes=["202"],
            )
        ],
    )
    def post(self, request):
        raw = request.data
        if not isinstance(raw, bytes) or not raw.strip():
            raise ParseError("The body must be a raw e-mail (message/rfc822).")
        result = email_receive(raw=raw, storefront=request_storefront(request))
        if result.status == "received":
            return Response(
                {
                    "status": "received",
                    "ticket": result.ticket_number,
                    "duplicate": result.duplicate,
                },
                status=status.HTTP_202_ACCEPTED,
            )
        return Response(
            {"status": "ignored", "reason": result.reason, "duplicate": result.duplicate}
        )
