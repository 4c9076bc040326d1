"""Where a webhook may point: http(s) only, and never (unless DEVICETRACK_WEBHOOK_ALLOW_PRIVATE)
at this machine or a private, link-local or otherwise non-public network: a subscription is
a request the server makes on someone's behalf, and it must not reach what only the server
can reach (a database port, a cloud's metadata address at 169.254.169.254)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from devicetrack.i18n import N_

RESOLVE_SECONDS = 5.0


class TargetRefused(Exception):
    """`message` is an English msgid saying why (the url field's error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_form(url: str) -> str:
    """The host of an absolute http(s) URL, or TargetRefused."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (an out-of-range port raises here)
    except ValueError:
        raise TargetRefused(N_("must be an http or https address")) from None
    if parts.scheme not in ("http", "https") or not host:
        raise TargetRefused(N_("must be an http or https address"))
    if parts.username is not None or parts.password is not None:
        raise TargetRefused(N_("must not carry a user name or password"))
    return host


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        raise TargetRefused(N_("the host name does not resolve")) from None
    return sorted({str(info[4][0]) for info in infos})


async def check(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), does not resolve, or (unless `allow_private`)
    resolves to any address that is not public."""
    host = check_form(url)
    addresses = await resolve(host)
    if not allow_private and not all(public(a) for a in addresses):
        raise TargetRefused(N_("must not point at this machine or a private network"))
