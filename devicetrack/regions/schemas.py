from __future__ import annotations

import msgspec


class ProvinceRead(msgspec.Struct):
    code: str
    name: str
    division_type: str
    programme_name: str
    commune_count: int


class CommuneRead(msgspec.Struct):
    code: str
    name: str
    division_type: str
    province_code: str


class ProvinceList(msgspec.Struct):
    items: list[ProvinceRead]


class CommuneList(msgspec.Struct):
    items: list[CommuneRead]
