"""The demo's devices and their history, made by the same services a user's requests go
through (so the demo shows what the rules allow, and nothing else): a donation with
tablets, laptops, desktops and smartphones from a foundation; a telecom's tablets with their
SIM cards installed; an allocation to the demo teacher's school received there; students with
consent; a few loans (three of them overdue); an audit; a second school not audited yet."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.allocations.schemas import AllocationCreate, ReceiptCreate
from devicetrack.audits import service as audits
from devicetrack.audits.schemas import AuditCreate, ScanBatch
from devicetrack.auth.principal import Principal
from devicetrack.common.clock import local_today
from devicetrack.custody import service as device_actions
from devicetrack.devices.identity import luhn_digit
from devicetrack.devices.schemas import ActionBody
from devicetrack.devices.values import Condition, DeviceKind
from devicetrack.donations import service as donations
from devicetrack.donations.schemas import DonationCreate, PledgedLineIn
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.models import Assignment
from devicetrack.students.schemas import AssignmentCreate, ConsentCreate, StudentCreate
from devicetrack.students.values import ConsentMethod, PriorityFlag

FAMILY = ["Lò", "Quàng", "Vàng", "Giàng", "Mùa", "Lường", "Cà", "Sùng"]
GIVEN = ["Văn Minh", "Thị Mai", "A Páo", "Thị Dung", "Văn Hùng", "Thị Lan", "A Sử", "Thị Hoa"]
# Days until each telecom SIM's free data ends, by the SIM's position (the telecom switched
# them on in batches): a few lapse this week, more within a fortnight and a month, the rest
# later, so the SIM expiry page has something to show at every window. The demo school's ten
# SIMs are the first ten: the lent tablets' SIMs run out within two weeks.
SIM_DAYS_LEFT = (5, 12, 13, 26, 40, 6, 20, 29, 58, 75, 91, 91)


@dataclass(frozen=True)
class Cast:
    """Who does what in the story, as in a province: the foundation's donor registers its
    donation, the province officer registers the telecom's delivery at the province store
    and allocates, the school's teacher receives, enrols, lends and audits."""

    donor: Principal
    officer: Principal
    teacher: Principal


async def tell(
    session: AsyncSession,
    cast: Cast,
    province: str,
    foundation_id: int,
    telecom_id: int,
    school_id: int,
) -> None:
    rng = random.Random(2026)
    tablets = await _foundation_donation(session, cast.donor, province, foundation_id)
    connected = await _telecom_donation(session, cast.officer, province, telecom_id)
    await allocations.allocate(
        session,
        cast.officer,
        AllocationCreate(school_id=school_id, asset_tags=tablets[:30] + connected[:10]),
    )
    # All have arrived and been scanned in but 5 of the foundation's, still on the road (a
    # tablet's SIM travels with it).
    teacher = cast.teacher
    arrived = tablets[:25] + connected[:10]
    await allocations.receive(session, teacher, school_id, ReceiptCreate(asset_tags=arrived))
    created = []
    for i in range(24):
        student = await students.create_student(
            session,
            teacher,
            StudentCreate(
                school_id=school_id,
                student_code=f"HS{2026}{i + 1:03d}",
                full_name=f"{FAMILY[i % len(FAMILY)]} {GIVEN[rng.randrange(len(GIVEN))]}",
                grade=3 + i % 6,
                class_name=f"{3 + i % 6}A",
                priority=(
                    [PriorityFlag.ETHNIC_MINORITY, PriorityFlag.POOR_HOUSEHOLD]
                    if i % 3 == 0
                    else [PriorityFlag.ETHNIC_MINORITY]
                ),
            ),
        )
        created.append(student.id)
    for student_id in created[:18]:
        await students.add_consent(
            session,
            teacher,
            student_id,
            ConsentCreate(
                given_by="Phụ huynh", method=ConsentMethod.PAPER, given_at=date(2026, 9, 10)
            ),
        )
    # Twelve loans of the foundation's tablets and three of the telecom's connected ones.
    lent = tablets[:12] + connected[:3]
    loans = []
    for tag, student_id in zip(lent, created[:15], strict=True):
        loan = await assignments.assign(
            session,
            teacher,
            AssignmentCreate(asset_tag=tag, student_id=student_id, condition_out=Condition.NEW),
        )
        loans.append(loan.id)
    await _lent_last_term(session, loans[:3])
    # The audit of the computer room: the teacher scans what is on the shelves, all but two
    # of the tablets at school; the 15 lent ones are at home with their students, so the
    # result lists them as on loan (to confirm with the students), not missing.
    audit = await audits.start(
        session, teacher, AuditCreate(school_id=school_id, location="Phòng tin học")
    )
    on_shelves = tablets[12:23] + connected[3:10]
    await audits.scan(
        session, teacher, audit.id, ScanBatch(scans=[{"code": t} for t in on_shelves])
    )
    await audits.close(session, teacher, audit.id)
    # The teacher's second school has had five tablets since the autumn and no audit yet:
    # the monthly audits-due digest has a school to name.
    second = next(iter(sorted(teacher.school_ids - {school_id})))
    await allocations.allocate(
        session, cast.officer, AllocationCreate(school_id=second, asset_tags=tablets[30:35])
    )
    await allocations.receive(session, teacher, second, ReceiptCreate(asset_tags=tablets[30:35]))


# Days past their due date of the three loans made last term.
LATE_BY_DAYS = 7


async def _lent_last_term(session: AsyncSession, loan_ids: list[int]) -> None:
    """Three loans were made last term and are a week past their due date, for the loans
    page's overdue list and the weekly digest. The services lend from today, and refuse a
    due date in the past, so these loans' dates are moved back here (their history rows
    keep today's date)."""
    today = local_today()
    await session.execute(
        update(Assignment)
        .where(Assignment.id.in_(loan_ids))
        .values(
            assigned_at=Assignment.assigned_at - timedelta(days=60),
            due_back_on=today - timedelta(days=LATE_BY_DAYS),
        )
    )


async def _donation(
    session: AsyncSession,
    registrar: Principal,
    province: str,
    donor_id: int,
    reference: str,
    received_on: date,
    pledged: list[PledgedLineIn],
) -> int:
    donation = await donations.create_donation(
        session,
        registrar,
        DonationCreate(
            donor_id=donor_id,
            province_code=province,
            reference=reference,
            received_on=received_on,
            pledged=pledged,
        ),
    )
    return donation.id


async def _foundation_donation(
    session: AsyncSession, registrar: Principal, province: str, donor_id: int
) -> list[str]:
    """A foundation's mixed batch: tablets, laptops, desktops and smartphones. Returns the
    tablets' tags."""
    donation_id = await _donation(
        session,
        registrar,
        province,
        donor_id,
        "VTVV-2026-01",
        date(2026, 9, 5),
        [
            PledgedLineIn(kind=DeviceKind.TABLET, quantity=120, model="Samsung Galaxy Tab A9"),
            PledgedLineIn(kind=DeviceKind.LAPTOP, quantity=40, model="Lenovo ThinkPad E14"),
            PledgedLineIn(kind=DeviceKind.DESKTOP, quantity=20, model="Dell OptiPlex 3000"),
            PledgedLineIn(kind=DeviceKind.SMARTPHONE, quantity=60, model="Xiaomi Redmi 13"),
        ],
    )
    rows: list[dict[str, str]] = []
    rows += [
        {"kind": "tablet", "make": "Samsung", "model": "Galaxy Tab A9", "serial": f"R9TW{i:05d}"}
        for i in range(100)
    ]
    rows += [
        {"kind": "laptop", "make": "Lenovo", "model": "ThinkPad E14", "serial": f"PF4{i:05d}"}
        for i in range(40)
    ]
    rows += [
        {
            "kind": "desktop",
            "make": "Dell",
            "model": "OptiPlex 3000",
            "serial": f"DL3K{i:04d}",
            "condition": "good",
        }
        for i in range(20)
    ]
    for i in range(60):
        body = f"86{i + 4_012_000:012d}"
        rows.append(
            {
                "kind": "smartphone",
                "make": "Xiaomi",
                "model": "Redmi 13",
                "imei": body + luhn_digit(body),
            }
        )
    result = await donations.intake_devices(
        session, registrar, donation_id, list(enumerate(rows, start=2)), "create"
    )
    return result.asset_tags[:100]


async def _telecom_donation(
    session: AsyncSession, registrar: Principal, province: str, donor_id: int
) -> list[str]:
    """A telecom's cellular tablets, each with a Viettel or VinaPhone SIM installed whose
    three months of free data started in batches, so it ends over the coming weeks and
    months (SIM_DAYS_LEFT). Returns the tablets' tags."""
    donation_id = await _donation(
        session,
        registrar,
        province,
        donor_id,
        "VTL-KETNOI-2026",
        date(2026, 10, 1),
        [
            PledgedLineIn(kind=DeviceKind.TABLET, quantity=120, model="Samsung Galaxy Tab A9+ 5G"),
            PledgedLineIn(kind=DeviceKind.SIM, quantity=120, model="Data 4G 3 tháng"),
        ],
    )
    rows: list[dict[str, str]] = [
        {
            "kind": "tablet",
            "make": "Samsung",
            "model": "Galaxy Tab A9+ 5G",
            "serial": f"R9LT{i:05d}",
        }
        for i in range(120)
    ]
    for i in range(120):
        body = f"8984048000{i:08d}"
        viettel = i % 3 != 2
        rows.append(
            {
                "kind": "sim",
                "iccid": body + luhn_digit(body),
                "msisdn": f"{'086' if viettel else '091'}{2_000_000 + i:07d}",
                "carrier": "viettel" if viettel else "vinaphone",
                "plan_name": "Data 4G miễn phí 3 tháng",
                "plan_quota_gb": "4",
                "plan_expires_on": (
                    local_today() + timedelta(days=SIM_DAYS_LEFT[i % len(SIM_DAYS_LEFT)])
                ).isoformat(),
            }
        )
    result = await donations.intake_devices(
        session, registrar, donation_id, list(enumerate(rows, start=2)), "create"
    )
    tags = result.asset_tags
    tablets, sims = tags[:120], tags[120:]
    for tablet, sim in zip(tablets, sims, strict=True):
        await device_actions.perform(session, registrar, tablet, "install-sim", ActionBody(sim=sim))
    return tablets
