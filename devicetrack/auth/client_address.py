"""The address a request came from, for throttling sign-ins per client.

`X-Forwarded-For` is anyone's to write, so it is read only when the TCP peer is one of the
operator's own proxies (DEVICETRACK_TRUSTED_PROXIES; none by default). The ASGI server is
told not to rewrite the client from these headers itself (see cli.UVICORN_OPTIONS): this is
the one place that decides, under any server and in the tests alike."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any

from litestar import Request

from devicetrack.config import Network, parse_networks

IP = IPv4Address | IPv6Address


def _ip(text: str) -> IP | None:
    text = text.strip()
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":", 1)[0]
    try:
        ip = ip_address(text)
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; count them as IPv4.
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped if mapped is not None else ip


def _trusted(ip: IP, proxies: Iterable[Network]) -> bool:
    return any(ip in net for net in proxies)


def client_address(request: Request[Any, Any, Any], trusted_proxies: tuple[str, ...]) -> str:
    """The client's address: the TCP peer, or what the trusted proxies say it was."""
    proxies = parse_networks(",".join(trusted_proxies))
    peer = request.client.host if request.client else ""
    peer_ip = _ip(peer)
    if not proxies or peer_ip is None or not _trusted(peer_ip, proxies):
        return str(peer_ip) if peer_ip is not None else (peer or "unknown")
    # Each proxy appends the address it was reached from: walk from the right past our own
    # proxies; the first address that is not one of them is the client. What lies left of it
    # was written by the client and proves nothing.
    hops = ",".join(request.headers.getall("x-forwarded-for", [])).split(",")
    address: IP = peer_ip
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # garbage (or an empty header): keep the last address a proxy vouched for
        address = ip
        if not _trusted(ip, proxies):
            break
    return str(address)
