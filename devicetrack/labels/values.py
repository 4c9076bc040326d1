"""The label stocks a sheet can be printed on, by name (see devices/values.py for the
convention). Their sizes are in labels/templates.py, one per name."""

from __future__ import annotations

from enum import StrEnum


class TemplateName(StrEnum):
    AVERY_L7651 = "avery-l7651"
    A4_3X8 = "a4-3x8"
    THERMAL_50X25 = "thermal-50x25"
