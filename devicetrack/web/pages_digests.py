"""The account page's choice of digests by email: the ones ticked are on, the others of
the user's role off (the same service as PATCH /api/v1/me/digests)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.principal import Principal
from devicetrack.digests import service as digests
from devicetrack.web.forms import Form
from devicetrack.web.navigation import done


class DigestPages(Controller):
    path = "/account"
    include_in_schema = False

    @post("/digests")
    async def choose(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal
    ) -> Response[Any]:
        form = await Form.of(request)
        await digests.choose_only(tx, principal, set(form.many("digest")))
        return done("/account", "Saved.")
