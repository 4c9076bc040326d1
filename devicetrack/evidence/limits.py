"""Input limits of evidence, each defined here once (README "Input limits")."""

from __future__ import annotations

from typing import Annotated

import msgspec

# One signature or photo of a signed page: a phone's photo of an A4 page is 1–4 MB as JPEG.
MAX_BYTES = 5 * 1024 * 1024
# A photo's width × height; a signature drawn on a phone is far smaller.
MAX_PIXELS = 40_000_000
# Who signed ("Lò Văn Pọm, guardian").
SIGNER = 200

Signer = Annotated[str, msgspec.Meta(max_length=SIGNER)]

LENGTHS: dict[tuple[str, str], int] = {("evidence", "signer"): SIGNER}
