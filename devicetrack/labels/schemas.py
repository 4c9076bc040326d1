from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.devices.values import DeviceKind
from devicetrack.labels.values import TemplateName


class LabelSheetRequest(Body):
    """Which labels to print: asset tags, or a filter (donation, allocation, school, kind),
    or a reserved label batch (printed before the devices exist)."""

    template: TemplateName = TemplateName.AVERY_L7651
    asset_tags: Annotated[list[str], msgspec.Meta(max_length=50_000)] | None = None
    donation_id: int | None = None
    allocation_id: int | None = None
    school_id: int | None = None
    kind: DeviceKind | None = None
    label_batch: int | None = None
    # Start at this position of a partly used sheet (0 = the first label).
    skip: Annotated[int, msgspec.Meta(ge=0)] = 0
    copies: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
