"""How long or how large each input field of a device may be, defined here once.

The API's body Structs (devices/schemas.py) are built from these types; the imports convert
each row into those Structs (devices/intake_rows.py) and the page forms convert into them
too (web/forms.py), so all three refuse the same value in the same words, naming the
field. The CHECKs of the table are generated from the numbers in LENGTHS
(devices/models.py; migration 0016 is their snapshot) and tests/test_limits.py compares
the live database with them."""

from __future__ import annotations

from typing import Annotated

import msgspec

from devicetrack.common.limits import NOTE, PHONE
from devicetrack.errors import ranged
from devicetrack.i18n import N_

MAKE = 100
MODEL = 200
SERIAL = 100
PLAN_NAME = 200
PAID_BY = 200
# A retirement's reason.
REASON = 500
# What is typed or scanned to name a device: a tag, an IMEI, an ICCID.
CODE = 40
# A SIM's monthly data (numeric(8,2)).
QUOTA_GB_BELOW = 1_000_000
# A used device's intake facts (migration 0022's CHECKs hold the same bounds): its storage
# in whole GB, its RAM in GB to one decimal (numeric(6,1)), its battery's health in percent.
STORAGE_GB_MIN, STORAGE_GB_MAX = 1, 100_000
RAM_GB_MAX = 10_000
BATTERY_PCT_MIN, BATTERY_PCT_MAX = 0, 100

Make = Annotated[str, msgspec.Meta(max_length=MAKE)]
Model = Annotated[str, msgspec.Meta(max_length=MODEL)]
Serial = Annotated[str, msgspec.Meta(min_length=1, max_length=SERIAL)]
PlanName = Annotated[str, msgspec.Meta(max_length=PLAN_NAME)]
PaidBy = Annotated[str, msgspec.Meta(max_length=PAID_BY)]
Reason = Annotated[str, msgspec.Meta(max_length=REASON)]
Code = Annotated[str, msgspec.Meta(max_length=CODE)]
# msgspec bounds floats, not Decimals; stored as numeric(8,2).
QuotaGb = Annotated[float, msgspec.Meta(ge=0, lt=QUOTA_GB_BELOW)]
StorageGb = Annotated[int, msgspec.Meta(ge=STORAGE_GB_MIN, le=STORAGE_GB_MAX)]
ranged("storage_gb", N_("must be between 1 and 100000"))
RamGb = Annotated[float, msgspec.Meta(gt=0, le=RAM_GB_MAX)]
ranged("ram_gb", N_("must be more than 0 and at most 10000"))
BatteryPct = Annotated[int, msgspec.Meta(ge=BATTERY_PCT_MIN, le=BATTERY_PCT_MAX)]
ranged("battery_health_pct", N_("must be between 0 and 100"))

# (table, column) -> the most characters it holds: one CHECK each.
LENGTHS: dict[tuple[str, str], int] = {
    ("devices", "make"): MAKE,
    ("devices", "model"): MODEL,
    ("devices", "serial"): SERIAL,
    ("devices", "note"): NOTE,
    ("devices", "msisdn"): PHONE,
    ("devices", "plan_name"): PLAN_NAME,
    ("devices", "paid_by"): PAID_BY,
}
