"""Who is calling: the role and scope every service checks objects against."""

from __future__ import annotations

import msgspec


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    user_id: int
    email: str
    full_name: str
    role: str
    province_code: str | None = None
    school_ids: frozenset[int] = frozenset()
    donor_id: int | None = None
    locale: str = "vi"
    via_api_key: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_province_officer(self) -> bool:
        return self.role == "province_officer"

    @property
    def is_school_staff(self) -> bool:
        return self.role == "school_staff"

    @property
    def is_donor(self) -> bool:
        return self.role == "donor"
