"""The demo's devices and their history, made by the same services a user's requests go
through (so the demo shows what the rules allow, and nothing else): a donation with
tablets, laptops and SIM cards; an allocation to the demo teacher's school received there;
students with consent; a few loans; an audit."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.allocations.schemas import AllocationCreate, ReceiptCreate
from devicetrack.audits import service as audits
from devicetrack.audits.schemas import AuditCreate, ScanBatch
from devicetrack.auth.principal import Principal
from devicetrack.donations import service as donations
from devicetrack.donations.schemas import DonationCreate, PledgedLineIn
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.schemas import AssignmentCreate, ConsentCreate, StudentCreate

FAMILY = ["Lò", "Quàng", "Vàng", "Giàng", "Mùa", "Lường", "Cà", "Sùng"]
GIVEN = ["Văn Minh", "Thị Mai", "A Páo", "Thị Dung", "Văn Hùng", "Thị Lan", "A Sử", "Thị Hoa"]


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


async def tell(
    session: AsyncSession, province: str, donor_id: int, school_id: int, admin_id: int
) -> None:
    rng = random.Random(2026)
    admin = Principal(user_id=admin_id, email="demo", full_name="Demo", role="admin")
    donation = await donations.create_donation(
        session,
        admin,
        DonationCreate(
            donor_id=donor_id,
            province_code=province,
            reference="VTVV-2026-01",
            received_on=date(2026, 9, 5),
            pledged=[
                PledgedLineIn(kind="tablet", quantity=120, model="Samsung Galaxy Tab A9"),
                PledgedLineIn(kind="laptop", quantity=40, model="Lenovo ThinkPad E14"),
                PledgedLineIn(kind="sim", quantity=60),
            ],
        ),
    )
    rows: list[dict[str, str]] = []
    for i in range(100):
        rows.append(
            {
                "kind": "tablet",
                "make": "Samsung",
                "model": "Galaxy Tab A9",
                "serial": f"R9TW{i:05d}",
            }
        )
    for i in range(30):
        rows.append(
            {"kind": "laptop", "make": "Lenovo", "model": "ThinkPad E14", "serial": f"PF4{i:05d}"}
        )
    for i in range(40):
        body = f"8984048000{i:08d}"
        rows.append(
            {
                "kind": "sim",
                "iccid": body + _luhn_digit(body),
                "msisdn": f"0912{i:06d}",
                "carrier": "Viettel",
                "plan_expires_on": f"2026-12-{1 + i % 28:02d}",
            }
        )
    result = await donations.intake_devices(
        session, admin, donation.id, list(enumerate(rows, start=2)), "create"
    )
    tags = result.asset_tags  # type: ignore[union-attr]
    tablets = tags[:100]
    allocation = await allocations.allocate(
        session, admin, AllocationCreate(school_id=school_id, asset_tags=tablets[:30])
    )
    # 25 of the 30 have arrived and been scanned in; 5 are still on the road.
    await allocations.receive(
        session,
        admin,
        school_id,
        ReceiptCreate(asset_tags=[d.asset_tag for d in allocation.devices][:25]),
    )
    created = []
    for i in range(24):
        student = await students.create_student(
            session,
            admin,
            StudentCreate(
                school_id=school_id,
                student_code=f"HS{2026}{i + 1:03d}",
                full_name=f"{FAMILY[i % len(FAMILY)]} {GIVEN[rng.randrange(len(GIVEN))]}",
                grade=3 + i % 6,
                class_name=f"{3 + i % 6}A",
                priority=["ethnic_minority"] + (["poor_household"] if i % 3 == 0 else []),
            ),
        )
        created.append(student.id)
    for student_id in created[:18]:
        await students.add_consent(
            session,
            admin,
            student_id,
            ConsentCreate(given_by="Phụ huynh", method="paper", given_at=date(2026, 9, 10)),
        )
    for tag, student_id in zip(tablets[:12], created[:12], strict=True):
        await assignments.assign(
            session,
            admin,
            AssignmentCreate(asset_tag=tag, student_id=student_id, condition_out="new"),
        )
    audit = await audits.start(
        session, admin, AuditCreate(school_id=school_id, location="Phòng tin học")
    )
    await audits.scan(
        session, admin, audit.id, ScanBatch(scans=[{"code": t} for t in tablets[:20]])
    )
    await audits.close(session, admin, audit.id)
