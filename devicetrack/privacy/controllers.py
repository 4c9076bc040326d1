from __future__ import annotations

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.privacy import service
from devicetrack.privacy.schemas import AccessPage


class PrivacyController(Controller):
    path = "/privacy"
    tags = ["privacy"]

    @get("/access-log", operation_id="listAccessLog")
    async def access_log(
        self,
        tx: AsyncSession,
        principal: Principal,
        student_id: int | None = None,
        user_id: int | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> AccessPage:
        """Who read which student's personal fields, when and through which route, newest
        first (admins only)."""
        rows = await service.list_access(
            tx,
            principal,
            student_id=student_id,
            user_id=user_id,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_of(rows, limit)
        return AccessPage(items=items, next_cursor=next_cursor)
