"""Compressed answers: brotli for browsers that ask for it (Chromium does over HTTPS), gzip
for the rest (a school's plain-HTTP intranet). A page of 16–30 KB of HTML goes out as
2–4 KB: on 3G at 400 kbit/s that is most of a second saved per page.

Answers already compressed (spreadsheets are zip files, PDFs deflate their streams,
images) go out as they are: squeezing them again costs CPU and saves nothing."""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import CompressionEncoding
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Scope, Send

from devicetrack.config import Settings

ALREADY_COMPRESSED = (
    "application/vnd.openxmlformats-",  # xlsx and other OOXML files: zip inside
    "application/zip",
    "application/gzip",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/vnd.microsoft.icon",
    "image/x-icon",
)


class SelectiveCompression(CompressionMiddleware):
    """Litestar's compression, skipping answers whose type is compressed already."""

    def create_compression_send_wrapper(
        self,
        send: Send,
        compression_encoding: CompressionEncoding | str,
        scope: Scope,
    ) -> Send:
        compress = super().create_compression_send_wrapper(
            send,
            compression_encoding,
            scope,
        )
        as_is = False

        async def choose(message: Message) -> None:
            nonlocal as_is
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders(message)
                media_type = (headers.get("content-type") or "").lower()
                as_is = bool(headers.get("content-encoding")) or media_type.startswith(
                    ALREADY_COMPRESSED
                )
            await (send if as_is else compress)(message)

        return choose


def compression_config(settings: Settings) -> CompressionConfig | None:
    """None when DEVICETRACK_COMPRESS_MIN_BYTES=0 (a proxy in front compresses instead)."""
    if settings.compress_min_bytes <= 0:
        return None
    return CompressionConfig(
        backend="brotli",
        brotli_gzip_fallback=True,
        # Quality 5 and level 6: nearly the smallest output at a fraction of the top
        # settings' CPU (exports stream megabytes through this).
        brotli_quality=5,
        gzip_compress_level=6,
        minimum_size=settings.compress_min_bytes,
        middleware_class=SelectiveCompression,
    )
