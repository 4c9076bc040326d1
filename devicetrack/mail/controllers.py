from __future__ import annotations

from litestar import Controller, get
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.mail import service
from devicetrack.mail.schemas import MailPage
from devicetrack.mail.values import MailStatus


class MailController(Controller):
    path = "/mail"
    tags = ["mail"]

    @get(
        "/messages",
        operation_id="listMailMessages",
        description=(
            "Every email's record, newest first (admins): recipient, template, status, "
            "tries and the last error. `status=failed` lists the ones that were not sent."
        ),
    )
    async def list_(
        self,
        tx: AsyncSession,
        principal: Principal,
        status: MailStatus | None = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> MailPage:
        rows = await service.list_messages(
            tx, principal, status=status, before_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return MailPage(items=items, next_cursor=next_cursor)
