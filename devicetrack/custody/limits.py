"""Input limits of custody's bodies (README "Input limits")."""

from __future__ import annotations

from typing import Annotated

import msgspec

# What a scanner typed: an asset tag, or a label's QR link (`{public URL}/d/{tag}`).
SCANNED = 300

Scanned = Annotated[str, msgspec.Meta(min_length=1, max_length=SCANNED)]
