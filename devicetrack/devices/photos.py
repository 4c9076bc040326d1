"""Reading labels off a phone's photo: every Code 128 and QR code in it, with zxing-cpp.

For phones whose browser has no `BarcodeDetector` (iPhone Safari, Firefox): the page sends
a photo and the server reads it. What is accepted is decided by the file's first bytes, not
its name or declared type: JPEG and PNG (an iPhone turns its HEIC photos into JPEG when a
page asks for `image/*`). The image's size is read from its header and a picture of more
than MAX_PIXELS is refused before a single pixel is decoded: a 900-megapixel PNG of one
colour compresses to under a megabyte and would take gigabytes to open. Decoding (Pillow,
then zxing-cpp, both C code) runs in a worker thread, never on the event loop."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from devicetrack.errors import DomainError, FieldError, PayloadTooLarge, ValidationFailed, echo
from devicetrack.i18n import N_, Message

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# A box of devices photographed at once: more codes than this are not looked up.
MAX_CODES = 200
ACCEPTED = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}
# What other files are, to say so in the refusal.
_OTHERS = (
    (b"GIF8", "GIF"),
    (b"RIFF", "WebP"),
    (b"%PDF", "PDF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_DEVICE_LINK = re.compile(r"/d/([^/]+)/?$")


class UnsupportedImage(DomainError):
    status, kind, title = 415, "unsupported-media-type", N_("Send the photo as JPEG or PNG")


NOT_ACCEPTED = N_(
    "This file is {found}; photos are accepted as {accepted}. On an iPhone, take the photo "
    "from this page (it is sent as JPEG), or set Camera › Formats to Most Compatible."
)
NOT_AN_IMAGE = N_(
    "This file is not a JPEG or PNG image; photos are accepted as {accepted}. On an iPhone, "
    "take the photo from this page (it is sent as JPEG), or set Camera › Formats to Most "
    "Compatible."
)


def image_type(data: bytes) -> str:
    """The photo's type from its first bytes: image/jpeg or image/png; 415 otherwise,
    naming what it looks like and what is accepted."""
    for media_type, magics in ACCEPTED.items():
        if data.startswith(magics):
            return media_type
    found = next((name for magic, name in _OTHERS if data.startswith(magic)), None)
    if data[4:8] == b"ftyp":
        found = "HEIC" if data[8:12] in _HEIF_BRANDS else "AVIF" if data[8:12] == b"avif" else None
    accepted = ", ".join(ACCEPTED)
    raise UnsupportedImage(
        NOT_ACCEPTED if found else NOT_AN_IMAGE,
        errors=[FieldError(field="file", message=Message(N_("not {accepted}"), accepted=accepted))],
        extra={"accepted": list(ACCEPTED), "found": found},
        found=found or "",
        accepted=accepted,
    )


def too_large(size: int) -> PayloadTooLarge:
    mib = f"{MAX_PHOTO_BYTES / (1024 * 1024):g}"
    return PayloadTooLarge(
        N_("The photo is larger than {mib} MiB."),
        errors=[FieldError(field="file", message=Message(N_("larger than {mib} MiB"), mib=mib))],
        extra={"limit": "max_photo_bytes", "max": MAX_PHOTO_BYTES, "size": size},
        mib=mib,
    )


@dataclass(frozen=True)
class ReadCode:
    text: str
    symbology: str  # "code128" or "qr"


def read_codes(data: bytes) -> list[ReadCode]:
    """Every Code 128 and QR code in the photo, each text once, in the order zxing finds
    them (blocking: run it in a worker thread)."""
    import zxingcpp
    from PIL import Image

    kind = image_type(data)
    try:
        plugin = "JPEG" if kind == "image/jpeg" else "PNG"  # no other decoder is tried
        with Image.open(io.BytesIO(data), formats=[plugin]) as im:
            width, height = im.size  # from the header: nothing is decoded yet
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(width, height)
            gray = im.convert("L")
    except Image.DecompressionBombError:
        raise _too_many_pixels(0, 0) from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationFailed(
            N_("The photo could not be read; it may be damaged. Take it again."),
            errors=[FieldError(field="file", message=N_("not a readable image"))],
        ) from None
    results: list[Any] = zxingcpp.read_barcodes(
        gray,
        formats=zxingcpp.barcode_formats_from_str("Code128,QRCode"),
        try_rotate=True,
        try_downscale=True,
        try_invert=False,  # labels are printed dark on light
    )
    found: dict[str, ReadCode] = {}
    for result in results:
        if result.valid and result.text and result.text not in found:
            symbology = "qr" if result.format == zxingcpp.BarcodeFormat.QRCode else "code128"
            found[result.text] = ReadCode(result.text, symbology)
    return list(found.values())[:MAX_CODES]


def _too_many_pixels(width: int, height: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        N_("The photo has more than {n} megapixels ({width} × {height}); send a smaller one."),
        errors=[FieldError(field="file", message=N_("too many pixels"))],
        extra={"limit": "max_pixels", "max": MAX_PIXELS},
        n=MAX_PIXELS // 1_000_000,
        width=width or "?",
        height=height or "?",
    )


def code_in(text: str) -> str:
    """What to look up for a code read off a label: the tag of a device link's QR
    (`…/d/{tag}`), or the text itself (a Code 128 tag, an IMEI, a serial)."""
    link = text.lower().startswith(("http://", "https://"))
    if link and (match := _DEVICE_LINK.search(urlsplit(text).path)):
        return unquote(match.group(1))
    return echo(text, 100)
