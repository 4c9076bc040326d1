from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from devicetrack.auth import service
from devicetrack.auth.client_address import client_address
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    MeRead,
    TokenRead,
    TokenRequest,
    UserCreate,
    UserPage,
    UserRead,
    UserUpdate,
)
from devicetrack.common.pagination import Cursor, Limit, decode_cursor, page_of
from devicetrack.config import Settings
from devicetrack.errors import problem_response
from devicetrack.i18n import N_


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/token", operation_id="createToken", security=[], status_code=200)
    async def token(
        self,
        request: Request[Any, Any, Any],
        data: TokenRequest,
        tx: AsyncSession,
        db_engine: AsyncEngine,
        settings: Settings,
    ) -> TokenRead | Response[Any]:
        address = client_address(request, settings.trusted_proxies)
        outcome = await service.login(tx, db_engine, settings, data.email, data.password, address)
        if isinstance(outcome, service.LoginRefused):
            return problem_response(
                request,
                401,
                "unauthorized",
                N_("Sign-in failed"),
                outcome.detail,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return outcome


class MeController(Controller):
    path = "/me"
    tags = ["auth"]

    @get("/", operation_id="getMe")
    async def get_me(self, principal: Principal) -> MeRead:
        return service.me(principal)


class UserController(Controller):
    path = "/users"
    tags = ["users"]

    @post("/", operation_id="createUser")
    async def create(self, tx: AsyncSession, principal: Principal, data: UserCreate) -> UserRead:
        return await service.create_user(tx, principal, data)

    @get("/", operation_id="listUsers")
    async def list_(
        self, tx: AsyncSession, principal: Principal, limit: Limit = 50, cursor: Cursor = None
    ) -> UserPage:
        rows = await service.list_users(tx, principal, after_id=decode_cursor(cursor), limit=limit)
        items, next_cursor = page_of(rows, limit)
        return UserPage(items=items, next_cursor=next_cursor)

    @get("/{user_id:int}", operation_id="getUser")
    async def get_(self, tx: AsyncSession, principal: Principal, user_id: int) -> UserRead:
        return await service.get_user(tx, principal, user_id)

    @patch("/{user_id:int}", operation_id="updateUser")
    async def update(
        self, tx: AsyncSession, principal: Principal, user_id: int, data: UserUpdate
    ) -> UserRead:
        return await service.update_user(tx, principal, user_id, data)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["users"]

    @post("/", operation_id="createApiKey")
    async def create(
        self, tx: AsyncSession, principal: Principal, data: ApiKeyCreate
    ) -> ApiKeyCreated:
        return await service.create_api_key(tx, principal, data)

    @get("/", operation_id="listApiKeys")
    async def list_(
        self, tx: AsyncSession, principal: Principal, limit: Limit = 50, cursor: Cursor = None
    ) -> ApiKeyPage:
        rows = await service.list_api_keys(
            tx, principal, after_id=decode_cursor(cursor), limit=limit
        )
        items, next_cursor = page_of(rows, limit)
        return ApiKeyPage(items=items, next_cursor=next_cursor)

    @delete("/{key_id:int}", operation_id="revokeApiKey")
    async def revoke(
        self, tx: AsyncSession, principal: Principal, key_id: int = Parameter()
    ) -> None:
        await service.revoke_api_key(tx, principal, key_id)
