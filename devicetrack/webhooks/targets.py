"""Where a webhook may point: http(s) only, and never (unless DEVICETRACK_WEBHOOK_ALLOW_PRIVATE)
at this machine or a private, link-local or otherwise non-public network: a subscription is
a request the server makes on someone's behalf, and it must not reach what only the server
can reach (a database port, a cloud's metadata address at 169.254.169.254).

The check is made on the address actually connected to (`client`'s transport resolves the
name, checks every address and connects to one it checked), not only beforehand: a name
whose DNS answers a public address to the check and 127.0.0.1 a moment later (DNS
rebinding) would otherwise pass the check and reach the machine. An IPv6 address that
carries an IPv4 one (mapped, 6to4, Teredo, NAT64's 64:ff9b::/96) is judged by the IPv4."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from devicetrack.i18n import N_

RESOLVE_SECONDS = 5.0


class TargetRefused(Exception):
    """`message` is an English msgid saying why (the url field's error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_form(url: str) -> str:
    """The host of an absolute http(s) URL, or TargetRefused. A control character or a
    space anywhere is refused: urlsplit drops a tab or a newline silently while the URL
    stored keeps it, and the HTTP client refuses to send to it."""
    if any(ch <= " " or ch == "\x7f" for ch in url):
        raise TargetRefused(N_("must be an http or https address"))
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


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits


def _embedded(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (and reaches through a gateway)."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found += list(ip.teredo)
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded(ip)
        if ip.ipv4_mapped is not None:
            return all(public(str(a)) for a in inner)
        if inner and not all(public(str(a)) for a in inner):
            return False
    return ip.is_global and not ip.is_multicast


async def resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), RESOLVE_SECONDS
        )
    except (OSError, TimeoutError, UnicodeError):
        raise TargetRefused(N_("the host name does not resolve")) from None
    # In the resolver's order of preference (the order they are tried in), once each.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), does not resolve, or (unless `allow_private`)
    resolves to any address that is not public."""
    host = check_form(url)
    addresses = await resolve(host)
    if not allow_private and not all(public(a) for a in addresses):
        raise TargetRefused(N_("must not point at this machine or a private network"))


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses checked as it connects: the name is resolved here, every
    address it has must be public (unless private ones are allowed), and the connection is
    made to one of those addresses, so no second lookup can answer differently."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, *, allow_private: bool) -> None:
        self.inner = inner
        self.allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host)
            if not self.allow_private and not all(public(a) for a in addresses):
                raise TargetRefused(N_("must not point at this machine or a private network"))
        except TargetRefused as refused:
            raise httpcore.ConnectError(f"refused: {refused.message}") from None
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109  (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refused: not a network address")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def client(timeout: httpx.Timeout, *, allow_private: bool, user_agent: str) -> httpx.AsyncClient:
    """An HTTP client that reaches only checked addresses (see `_CheckedBackend`), follows
    no redirect (where a target redirects to was never checked) and ignores the
    environment's proxies (a proxy would make the connection the check never sees)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx builds its connection pool itself and takes no network backend: give its pool
    # the checking one (tests/test_webhooks.py's rebinding test fails if this stops working).
    pool = transport._pool
    pool._network_backend = _CheckedBackend(pool._network_backend, allow_private=allow_private)
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": user_agent},
    )
