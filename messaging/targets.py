"""Which URLs a webhook may be sent to (SSRF).

Where ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is false (production), a target must be ``https`` and
every address its host resolves to must be public: no private, loopback, link-local,
multicast, reserved or unspecified address (the cloud metadata service at 169.254.169.254 is
link-local). The host is resolved when the endpoint is saved and again before every attempt,
because a name may point elsewhere later. Redirects are never followed (``delivery.py``).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class TargetRefused(Exception):
    """The URL may not be a webhook target; the message says why (shown to the storefront)."""


def _addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [info[4][0] for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone index is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def target_check(url: str) -> None:
    """Raise ``TargetRefused`` unless ``url`` may receive webhooks here."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_("A webhook URL is an http or https address."))
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False):
        return
    if parts.scheme != "https":
        raise TargetRefused(_("A webhook URL must use https."))
    try:
        port = parts.port or 443
    except ValueError:
        raise TargetRefused(_("The URL's port is not valid.")) from None
    try:
        addresses = _addresses(parts.hostname, port)
    except (OSError, UnicodeError):
        raise TargetRefused(_("The URL's host name does not resolve.")) from None
    if not addresses or not all(_is_public(address) for address in addresses):
        raise TargetRefused(
            _("The URL's host is a private, loopback, link-local or reserved address.")
        )
