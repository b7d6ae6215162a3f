"""Which URLs a webhook may be sent to (SSRF).

Where ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is false (production), a target must be ``https`` and
every address its host resolves to must be public: no private, loopback, link-local,
multicast, reserved or unspecified address (the cloud metadata service at 169.254.169.254 is
link-local). The host is resolved when the endpoint is saved and again before every attempt,
because a name may point elsewhere later, and the attempt connects to the address that was
checked (``PinnedAdapter``), never to one the HTTP client would resolve again: a name that
answers a public address to the check and a private one to the connection (DNS rebinding)
reaches the public one. Redirects are never followed (``delivery.py``); proxies from the
environment are not used.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter


class TargetRefused(Exception):
    """The URL may not be a webhook target; the message says why (shown to the storefront)."""


def _addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


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


def _private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_TARGETS", False))


def _parts(url: str) -> tuple[str, str, int]:
    """The scheme, host and port of a URL that may be a target at all."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(_("A webhook URL is an http or https address."))
    if parts.scheme != "https" and not _private_allowed():
        raise TargetRefused(_("A webhook URL must use https."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused(_("The URL's port is not valid.")) from None
    return parts.scheme, parts.hostname, port


def _resolved(host: str, port: int) -> list[str]:
    try:
        addresses = _addresses(host, port)
    except (OSError, UnicodeError):
        raise TargetRefused(_("The URL's host name does not resolve.")) from None
    if not addresses:
        raise TargetRefused(_("The URL's host name does not resolve."))
    if not _private_allowed() and not all(_is_public(address) for address in addresses):
        raise TargetRefused(
            _("The URL's host is a private, loopback, link-local or reserved address.")
        )
    return addresses


def target_check(url: str) -> None:
    """Raise ``TargetRefused`` unless ``url`` may receive webhooks here (when an endpoint is
    saved; where private targets are allowed the name need not resolve yet)."""
    _scheme, host, port = _parts(url)
    if not _private_allowed():
        _resolved(host, port)


@dataclass(frozen=True)
class Target:
    """Where an attempt goes: the URL's host name, and the checked address it connects to."""

    scheme: str
    host: str
    port: int
    address: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def target_resolve(url: str) -> Target:
    """Resolve and check ``url``'s host for one attempt (``TargetRefused`` as ``target_check``);
    the attempt connects to the returned address only."""
    scheme, host, port = _parts(url)
    addresses = _resolved(host, port)
    return Target(scheme=scheme, host=host, port=port, address=addresses[0].split("%", 1)[0])


class PinnedAdapter(HTTPAdapter):
    """A ``requests`` transport that connects to one address, whatever the URL's host name
    resolves to by then. The request keeps the host name in its URL and ``Host`` header, and
    TLS sends it (SNI) and verifies the certificate for it, not for the address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host = host_params["host"].strip("[]")  # an IPv6 literal, as TLS names it
        host_params = {**host_params, "host": self.address}
        if host_params["scheme"] == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": host, "assert_hostname": host}
        return host_params, pool_kwargs
