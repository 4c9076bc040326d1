from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from devicetrack.common.schemas import Body
from devicetrack.schools.values import SchoolLevel

SchoolYear = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{4}$", examples=["2025-2026"])]
# `\S`: at least one character that is not a space (values are stored stripped).
SchoolCode = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"\S")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=r"\S")]
ProvinceCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}$")]
CommuneCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]


class SchoolCreate(Body):
    code: SchoolCode
    name: Name
    commune_code: CommuneCode
    province_code: ProvinceCode | None = None
    levels: list[SchoolLevel] = []
    former_district: str | None = None
    address: str | None = None
    active: bool = True


class SchoolUpdate(Body):
    name: Name | None = None
    commune_code: CommuneCode | None = None
    levels: list[SchoolLevel] | None = None
    former_district: str | None = None
    address: str | None = None
    active: bool | None = None


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
    school_year: SchoolYear
    students_total: Count
    priority_students: Count = 0


class EnrolmentRead(msgspec.Struct):
    school_id: int
    school_year: str
    students_total: int
    priority_students: int
    updated_at: datetime


class SchoolEnrolment(msgspec.Struct):
    """A school and its enrolment of one school year (None: not entered yet)."""

    school: SchoolRead
    enrolment: EnrolmentRead | None


class EnrolmentList(msgspec.Struct):
    items: list[EnrolmentRead]


class EnrolmentImportResult(msgspec.Struct):
    enrolments: int
    school_ids: list[int]


class ImportResult(msgspec.Struct):
    created: int
    enrolments: int
    school_ids: list[int]
