"""User creation from the command line, through the same service as the API."""

from __future__ import annotations

import msgspec

from devicetrack.auth import service
from devicetrack.auth.principal import Principal
from devicetrack.auth.schemas import UserCreate
from devicetrack.db.engine import cli_session
from devicetrack.errors import ValidationFailed, foreign

# The command line is run by whoever operates the installation: it acts as an admin.
OPERATOR = Principal(user_id=0, email="cli", full_name="command line", role="admin")


async def create_user(
    url: str,
    email: str,
    full_name: str,
    role: str,
    province: str | None,
    schools: list[int],
    donor: int | None,
    password: str,
) -> int:
    fields = {
        "email": email,
        "full_name": full_name,
        "password": password,
        "role": role,
        "province_code": province,
        "school_ids": schools,
        "donor_id": donor,
    }
    try:
        data = msgspec.convert(fields, UserCreate)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(foreign(str(exc))) from None
    async with cli_session(url) as session:
        user = await service.create_user(session, OPERATOR, data)
    return user.id
