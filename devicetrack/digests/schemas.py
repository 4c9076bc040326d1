from __future__ import annotations

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.digests.values import Digest


class DigestsRead(msgspec.Struct):
    """The digests the caller's role receives, each on (true) or off (false), and when
    each is mailed."""

    receive: dict[Digest, bool]
    schedules: dict[Digest, str]


class DigestsUpdate(Body):
    """Digests to turn on (true) or off (false); those left out stay as they are."""

    receive: dict[Digest, bool]
