"""Arranging test data: reference rows through SQL, callers with real tokens."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from devicetrack.auth.secrets import new_token, token_digest

# Real communes: two in Điện Biên (11), one in Lai Châu (12).
DIEN_BIEN = "11"
LAI_CHAU = "12"
_ids = itertools.count(1)
_PASSWORD_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$"
    "1b0VZQzLqGTn1v5oXwC7LlXNRxD3rX1kJYcK8dJ6lvw"
)


@dataclass
class Caller:
    user_id: int
    role: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


class Factory:
    def __init__(self, db: asyncpg.Pool, client: AsyncTestClient) -> None:
        self.db = db
        self.client = client

    async def commune(self, province: str, index: int = 0) -> str:
        code = await self.db.fetchval(
            "SELECT code FROM communes WHERE province_code = $1 ORDER BY code OFFSET $2 LIMIT 1",
            province,
            index,
        )
        assert code is not None
        return str(code)

    async def school(self, province: str = DIEN_BIEN, **values: Any) -> int:
        n = next(_ids)
        commune = values.pop("commune_code", None) or await self.commune(province, n % 5)
        return int(
            await self.db.fetchval(
                """INSERT INTO schools (code, name, province_code, commune_code, levels, active)
                   VALUES ($1, $2, $3, $4, $5, true) RETURNING id""",
                values.get("code", f"T{province}{n:06d}"),
                values.get("name", f"Trường thử {n}"),
                province,
                commune,
                values.get("levels", ["primary"]),
            )
        )

    async def donor(self, name: str | None = None, kind: str = "foundation") -> int:
        n = next(_ids)
        return int(
            await self.db.fetchval(
                "INSERT INTO donors (name, short_name, kind) VALUES ($1, $2, $3) RETURNING id",
                name or f"Donor {n}",
                f"D{n}",
                kind,
            )
        )

    async def user(
        self,
        role: str,
        *,
        province: str | None = None,
        schools: list[int] | None = None,
        donor_id: int | None = None,
        active: bool = True,
        password_hash: str = _PASSWORD_HASH,
        email: str | None = None,
        expires_in: timedelta = timedelta(hours=1),
    ) -> Caller:
        """A user with a bearer token issued directly (logins are tested on their own)."""
        n = next(_ids)
        user_id = await self.db.fetchval(
            """INSERT INTO users (email, full_name, password_hash, role, province_code, donor_id,
                                  active)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
            email or f"{role.replace('_', '-')}{n}@test.devicetrack.vn",
            f"Người dùng {n}",
            password_hash,
            role,
            province,
            donor_id,
            active,
        )
        for school_id in schools or []:
            await self.db.execute(
                "INSERT INTO user_schools (user_id, school_id) VALUES ($1, $2)", user_id, school_id
            )
        token = new_token("dt")
        await self.db.execute(
            "INSERT INTO auth_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
            token_digest(token),
            user_id,
            datetime.now(UTC) + expires_in,
        )
        # The caller reads English unless a test asks for Vietnamese (tests/test_messages.py):
        # without the header the API answers a user in their own language, Vietnamese here.
        headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        return Caller(int(user_id), role, token, headers)

    async def admin(self) -> Caller:
        return await self.user("admin")

    async def officer(self, province: str = DIEN_BIEN) -> Caller:
        return await self.user("province_officer", province=province)

    async def staff(self, *schools: int) -> Caller:
        return await self.user("school_staff", schools=list(schools))

    async def donor_user(self, donor_id: int) -> Caller:
        return await self.user("donor", donor_id=donor_id)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    return body  # type: ignore[no-any-return]
