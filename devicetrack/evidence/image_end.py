"""Where a JPEG's or a PNG's image ends. Bytes after it are no part of the picture but can be
anything: an HTML page or an SVG with script behind a valid image makes a polyglot that
Pillow decodes without complaint (it stops at the image's end), and a phone may put a
"motion photo" video there. custody/evidence.py keeps the image up to here only."""

from __future__ import annotations

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_end(data: bytes) -> int:
    """The offset just after the IEND chunk; len(data) when the chunks do not add up (the
    decoder then refuses the file)."""
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        at += 12 + length  # length, type, data, CRC
        if kind == b"IEND":
            return min(at, len(data))
    return len(data)


def jpeg_end(data: bytes) -> int:
    """The offset just after the EOI marker that ends the image's last scan (segments are
    skipped by their length, so an EXIF thumbnail's own EOI is not taken for it);
    len(data) when the markers do not add up."""
    at, size = 2, len(data)
    while at + 2 <= size:
        if data[at] != 0xFF:
            return size
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:  # EOI
            return at + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length
            at += 2
            continue
        if at + 4 > size:
            return size
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        at += 2 + length
        if marker == 0xDA:  # a scan: entropy-coded data up to the next real marker
            while True:
                at = data.find(b"\xff", at)
                if at < 0 or at + 1 >= size:
                    return size
                following = data[at + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    at += 2  # a stuffed 0xFF or a restart marker: still the scan
                    continue
                break
    return size


def image_end(data: bytes, media_type: str) -> int:
    return jpeg_end(data) if media_type == "image/jpeg" else png_end(data)
