from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.common.tabular import UploadLimits
from devicetrack.common.uploads import after_upload, limit_upload_body, read_upload
from devicetrack.config import Settings
from devicetrack.schools import importer, service
from devicetrack.schools.schemas import (
    EnrolmentImportResult,
    EnrolmentList,
    EnrolmentRead,
    EnrolmentWrite,
    ImportResult,
    SchoolCreate,
    SchoolPage,
    SchoolRead,
    SchoolUpdate,
)


class SchoolController(Controller):
    path = "/schools"
    tags = ["schools"]

    @post("/", operation_id="createSchool")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: SchoolCreate
    ) -> SchoolRead:
        return await service.create_school(tx, principal, data)

    @get("/", operation_id="listSchools")
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        province: str | None = None,
        commune: str | None = None,
        active: bool | None = None,
        level: str | None = None,
        q: str | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> SchoolPage:
        rows = await service.list_schools(
            tx,
            principal,
            province=province,
            commune=commune,
            active=active,
            level=level,
            q=q,
            after_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        return SchoolPage(items=items, next_cursor=next_cursor)

    @get("/{school_id:int}", operation_id="getSchool")
    async def get_(self, tx: AsyncSession, principal: Principal, school_id: int) -> SchoolRead:
        return service.school_read(await service.get_school(tx, principal, school_id))

    @patch("/{school_id:int}", operation_id="updateSchool")
    async def update(
        self, tx: AsyncSession, principal: Principal, school_id: int, data: SchoolUpdate
    ) -> SchoolRead:
        return await service.update_school(tx, principal, school_id, data)

    @delete("/{school_id:int}", operation_id="deleteSchool")
    async def delete_(self, tx: AsyncSession, principal: Principal, school_id: int) -> None:
        await service.delete_school(tx, principal, school_id)

    @get("/{school_id:int}/enrolments", operation_id="listEnrolments")
    async def enrolments(
        self, tx: AsyncSession, principal: Principal, school_id: int
    ) -> EnrolmentList:
        return EnrolmentList(items=await service.list_enrolments(tx, principal, school_id))

    @post("/{school_id:int}/enrolments", operation_id="putEnrolment", status_code=200)
    async def put_enrolment(
        self, tx: AsyncSession, principal: Principal, school_id: int, data: EnrolmentWrite
    ) -> EnrolmentRead:
        """Create or update the enrolment of one school year (one row per school per year)."""
        return await service.put_enrolment(tx, principal, school_id, data)

    @put("/{school_id:int}/enrolments", operation_id="replaceEnrolment", include_in_schema=False)
    async def put_enrolment_alias(
        self, tx: AsyncSession, principal: Principal, school_id: int, data: EnrolmentWrite
    ) -> EnrolmentRead:
        return await service.put_enrolment(tx, principal, school_id, data)

    @post(
        "/enrolments/import",
        operation_id="importEnrolments",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
        description=(
            "Upload a CSV or XLSX (multipart field `file`, or the raw file as the body) with "
            "columns school_code, school_year, students_total and optionally "
            "priority_students (Vietnamese headers accepted; GET "
            "/templates/enrolments.xlsx). Each row adds or replaces one school year's "
            "enrolment of a school you may change. All-or-nothing."
        ),
    )
    async def import_enrolments(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
    ) -> EnrolmentImportResult:
        data, filename = await read_upload(request)
        return await importer.import_enrolments(
            tx, principal, data, filename, UploadLimits.of(settings)
        )

    @post(
        "/import",
        operation_id="importSchools",
        request_max_body_size=None,  # Settings.max_upload_bytes, by limit_upload_body
        middleware=[limit_upload_body],
        after_response=after_upload,
        description=(
            "Upload a CSV or XLSX (multipart field `file`, or the raw file as the body) with "
            "columns code, name, commune_code, and optionally province_code, levels, "
            "former_district, address, active, school_year, students_total, "
            "priority_students. All-or-nothing: any bad row refuses the whole file."
        ),
    )
    async def import_(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        settings: Settings,
    ) -> ImportResult:
        data, filename = await read_upload(request)
        return await importer.import_schools(
            tx, principal, data, filename, UploadLimits.of(settings)
        )
