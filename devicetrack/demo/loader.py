"""Demo data: Điện Biên (province 11) with its real communes, about 40 schools with
enrolments, three donors and one user per role. Loaded only into an empty database."""

from __future__ import annotations

import random
from collections.abc import Sequence

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.models import User, UserSchool
from devicetrack.auth.principal import Principal
from devicetrack.auth.secrets import hash_password
from devicetrack.db.engine import cli_session
from devicetrack.demo import story
from devicetrack.donors.models import Donor
from devicetrack.regions.models import Commune
from devicetrack.reports.service import current_school_year
from devicetrack.schools.models import Enrolment, School

PROVINCE = "11"
DEMO_PASSWORD = "demo-password"
DEMO_LOGINS = [
    ("admin@demo.devicetrack.vn", "admin"),
    ("province@demo.devicetrack.vn", "province_officer"),
    ("school@demo.devicetrack.vn", "school_staff"),
    ("donor@demo.devicetrack.vn", "donor"),
]
DONORS = [
    ("Quỹ Vì Tầm Vóc Việt", "VTVV", "foundation", "VN"),
    ("Tổng Công ty Viễn thông Viettel", "Viettel", "telecom", "VN"),
    ("Dariu Foundation", "Dariu", "foundation", "IT"),
]
# (level prefix, levels, typical enrolment range). The first is the demo teacher's school:
# it lends tablets to grades 3–8, so it is a primary and lower-secondary boarding school.
SCHOOL_KINDS = [
    ("Trường PTDTBT TH&THCS", ["primary", "lower_secondary"], (200, 700)),
    ("Trường PTDTBT Tiểu học", ["primary"], (150, 600)),
    ("Trường PTDTBT THCS", ["lower_secondary"], (150, 550)),
    ("Trường Mầm non", ["preschool"], (80, 250)),
    ("Trường THPT", ["upper_secondary"], (300, 900)),
]
VILLAGES = ["Na Son", "Huổi Lèng", "Pá Chả", "Nậm Khăn"]
FORMER_DISTRICTS = [
    "Mường Chà",
    "Điện Biên Đông",
    "Tủa Chùa",
    "Mường Nhé",
    "Nậm Pồ",
    "Tuần Giáo",
    "Mường Ảng",
    "Điện Biên",
]


async def is_empty(session: AsyncSession) -> bool:
    return (await session.scalar(select(func.count()).select_from(User))) == 0


async def load_demo(url: str) -> bool:
    """Load the demo into an empty database; return False (and change nothing) otherwise."""
    async with cli_session(url) as session:
        if not await is_empty(session):
            return False
        await _load(session)
    return True


async def _load(session: AsyncSession) -> None:
    rng = random.Random(11)
    communes = list(
        (
            await session.execute(
                select(Commune).where(Commune.province_code == PROVINCE).order_by(Commune.code)
            )
        ).scalars()
    )
    schools: list[School] = []
    for i in range(40):
        commune = communes[i % len(communes)]
        prefix, levels, (low, high) = SCHOOL_KINDS[i % len(SCHOOL_KINDS)]
        place = commune.name.removeprefix("Xã ").removeprefix("Phường ")
        schools.append(
            School(
                code=f"11{i + 1:06d}",
                name=f"{prefix} {place}" + (f" số {i // len(SCHOOL_KINDS) + 1}" if i >= 25 else ""),
                province_code=PROVINCE,
                commune_code=commune.code,
                levels=levels,
                former_district=FORMER_DISTRICTS[i % len(FORMER_DISTRICTS)],
                address=f"Bản {rng.choice(VILLAGES)}, {commune.name}",
            )
        )
        schools[-1].__dict__["_enrolled"] = rng.randint(low, high)
    session.add_all(schools)
    await session.flush()
    await session.execute(
        insert(Enrolment),
        [
            {
                "school_id": s.id,
                "school_year": current_school_year(),
                "students_total": s.__dict__["_enrolled"],
                "priority_students": int(s.__dict__["_enrolled"] * rng.uniform(0.3, 0.8)),
            }
            for s in schools
        ],
    )
    donors = [Donor(name=n, short_name=sn, kind=k, country=c) for n, sn, k, c in DONORS]
    session.add_all(donors)
    await session.flush()
    password = hash_password(DEMO_PASSWORD)
    people = {
        "admin": User(
            email=DEMO_LOGINS[0][0],
            full_name="Quản trị hệ thống",
            role="admin",
            password_hash=password,
        ),
        "province": User(
            email=DEMO_LOGINS[1][0],
            full_name="Nguyễn Thị Hoa",
            role="province_officer",
            province_code=PROVINCE,
            password_hash=password,
        ),
        "school": User(
            email=DEMO_LOGINS[2][0],
            full_name="Lò Văn Thắng",
            role="school_staff",
            password_hash=password,
        ),
        "donor": User(
            email=DEMO_LOGINS[3][0],
            full_name="Trần Minh Đức",
            role="donor",
            donor_id=donors[0].id,
            password_hash=password,
        ),
    }
    session.add_all(people.values())
    await session.flush()
    # The demo school teacher serves two schools, as staff of small schools often do.
    await session.execute(
        insert(UserSchool),
        [{"user_id": people["school"].id, "school_id": s.id} for s in schools[:2]],
    )

    # Devices, loans and an audit at the demo teacher's first school, through the services,
    # each step done by the person whose job it is (the admin only set the demo up).
    await session.flush()
    assert donors[0].id and donors[1].id and schools[0].id
    cast = story.Cast(
        donor=_principal(people["donor"]),
        officer=_principal(people["province"]),
        teacher=_principal(people["school"], schools[:2]),
    )
    await story.tell(session, cast, PROVINCE, donors[0].id, donors[1].id, schools[0].id)


def _principal(user: User, schools: Sequence[School] = ()) -> Principal:
    """The user as the services see a signed-in caller."""
    assert user.id is not None
    return Principal(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        province_code=user.province_code,
        school_ids=frozenset(s.id for s in schools if s.id is not None),
        donor_id=user.donor_id,
    )
