from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

from devicetrack.common.schemas import Body
from devicetrack.regions.limits import CommuneCode, ProvinceCode
from devicetrack.schools.limits import (
    Address,
    Count,
    FormerDistrict,
    Name,
    SchoolCode,
    SchoolYear,
)
from devicetrack.schools.values import SchoolLevel


class SchoolCreate(Body):
    """Body of POST /schools; a row of the schools import is converted into it too
    (schools/importer.py)."""

    code: SchoolCode
    name: Name
    commune_code: CommuneCode
    province_code: ProvinceCode | None = None
    levels: list[SchoolLevel] = []
    former_district: FormerDistrict | None = None
    address: Address | None = None
    active: bool = True


class SchoolUpdate(Body):
    """Body of PATCH /schools/{id}: a field left out is unchanged; null clears the former
    district or the address."""

    name: Name | UnsetType = UNSET
    commune_code: CommuneCode | UnsetType = UNSET
    levels: list[SchoolLevel] | UnsetType = UNSET
    former_district: FormerDistrict | UnsetType | None = UNSET
    address: Address | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class SchoolRead(msgspec.Struct):
    id: int
    code: str
    name: str
    province_code: str
    commune_code: str
    levels: list[str]
    former_district: str | None
    address: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class SchoolPage(msgspec.Struct):
    items: list[SchoolRead]
    next_cursor: str | None


class EnrolmentWrite(Body):
    """Body of PUT/POST /schools/{id}/enrolments, and the enrolment of a row of the schools
    import."""

    school_year: SchoolYear
    students_total: Count
    priority_students: Count = 0


class EnrolmentRead(msgspec.Struct):
    school_id: int
    school_year: str
    students_total: int
    priority_students: int
    updated_at: datetime


class EnrolmentList(msgspec.Struct):
    items: list[EnrolmentRead]


class EnrolmentImportResult(msgspec.Struct):
    enrolments: int


class ImportResult(msgspec.Struct):
    created: int
    enrolments: int
    school_ids: list[int]
