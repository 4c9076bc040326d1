"""Addresses of the service's own pages, as printed on paper (QR codes on labels and
records). `DEVICETRACK_PUBLIC_URL` is where people reach the service (config.py)."""

from __future__ import annotations

from urllib.parse import quote


def absolute(public_url: str, path: str) -> str:
    return public_url.rstrip("/") + path


def device_link(public_url: str, tag: str) -> str:
    """What a label's QR holds: `/d/{tag}` opens the device page, after sign-in."""
    return absolute(public_url, "/d/" + quote(tag, safe=""))
