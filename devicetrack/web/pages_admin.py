"""Administration: the index of the registers an administrator or a province officer keeps
(users, schools, enrolments, donors; API keys and the outbox for administrators), and API
keys, listed with their user and last use, and revoked (a key is issued on its user's page,
pages_admin_users.py). The same services as the API; who may do what is theirs to say."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth import service as auth
from devicetrack.auth.principal import Principal
from devicetrack.auth.scope import ensure_administers
from devicetrack.web.forms import Form
from devicetrack.web.navigation import done
from devicetrack.web.render import page

KEYS_PAGE = 100


class AdminPages(Controller):
    path = "/admin"
    include_in_schema = False

    @get("/")
    async def index(self, request: Request[Any, Any, Any], principal: Principal) -> Response[Any]:
        ensure_administers(principal)
        return page(request, "admin.html", principal)


class ApiKeyPages(Controller):
    path = "/admin/api-keys"
    include_in_schema = False

    @get("/")
    async def keys(
        self,
        request: Request[Any, Any, Any],
        tx: AsyncSession,
        principal: Principal,
        after: int | None = None,
    ) -> Response[Any]:
        rows = await auth.list_api_keys(tx, principal, after_id=after, limit=KEYS_PAGE)
        return page(
            request,
            "admin_api_keys.html",
            principal,
            keys=rows[:KEYS_PAGE],
            more=rows[KEYS_PAGE - 1].id if len(rows) > KEYS_PAGE else None,
        )

    @post("/{key_id:int}/revoke")
    async def revoke(
        self, request: Request[Any, Any, Any], tx: AsyncSession, principal: Principal, key_id: int
    ) -> Response[Any]:
        form = await Form.of(request)
        await auth.revoke_api_key(tx, principal, key_id)
        back = form.integer("user_id", high=2**31 - 1)
        return done(f"/admin/users/{back}" if back else "/admin/api-keys", "API key revoked.")
