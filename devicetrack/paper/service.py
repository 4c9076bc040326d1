"""The four printed records, built from what the caller may read, in the reader's language:

- the handover minutes of an allocation (province → school), for both parties to sign;
- a loan agreement for the guardian (it names the student: the school's staff and admins
  only, and it writes the child's access log like any read of the student);
- a class loan sheet: one page per class, each student's device and a column to sign;
- the disposal record of a retired device, with the wipe it had.

Each reads through the domain services (their scope rules: out of scope is 404, exactly
like a missing record) and returns a `Document` of plain strings; drawing it is
paper/render.py's, in a worker process."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.allocations import service as allocations
from devicetrack.auth.principal import Principal
from devicetrack.common.clock import VIETNAM, local_today
from devicetrack.common.links import absolute, device_link
from devicetrack.custody import evidence
from devicetrack.devices import repository as devices_repo
from devicetrack.devices import service as devices
from devicetrack.devices.values import DeviceStatus
from devicetrack.errors import Conflict, NotFound
from devicetrack.i18n import N_
from devicetrack.paper import repository as repo
from devicetrack.paper.document import Document, Picture, Sheet, Signer, Table, Text
from devicetrack.paper.language import Language, place_and_date, short_date
from devicetrack.schools import service as schools
from devicetrack.students import access_log as privacy
from devicetrack.students import assignments
from devicetrack.students import service as students
from devicetrack.students.values import StudentStatus

SIGN_HINT = N_("(signature and full name)")
# A school year of loans is at most this many students per class sheet; more is a mistake.
MAX_STUDENTS = 100_000


def _nation(_: Language) -> tuple[str, str]:
    return _("SOCIALIST REPUBLIC OF VIET NAM"), _("Independence – Freedom – Happiness")


def _model(make: str | None, model: str | None) -> str:
    return " ".join(part for part in (make, model) if part) or "–"


async def _pictures(
    session: AsyncSession, owner: evidence.Owner, _: Language
) -> tuple[Picture, ...]:
    """The evidence kept with the record (signatures, photos of the signed paper)."""
    return tuple(
        Picture(data, f"{_.word(kind)} – {signer}" if signer else _.word(kind))
        for kind, signer, data in await evidence.pictures_of(session, owner)
    )


EVIDENCE_TITLE = N_("Signatures and photos of the signed paper kept with this record")


def _identity(serial: str | None, imei: str | None) -> str:
    return "\n".join(part for part in (serial, f"IMEI {imei}" if imei else None) if part) or "–"


# ---- the allocation's handover minutes --------------------------------------------------


async def handover(
    session: AsyncSession,
    principal: Principal,
    allocation_id: int,
    _: Language,
    public_url: str,
) -> Document:
    allocation = await allocations.read_allocation(session, principal, allocation_id)
    school, code, commune, province, programme = await repo.place_of_school(
        session, allocation.school_id
    )
    rows = await repo.allocation_devices(session, allocation_id)
    officer = await repo.user_name(session, await repo.allocation_creator(session, allocation_id))
    donors = sorted({f"{r.short_name} ({r.reference})" for r in rows})
    table = Table(
        header=(
            _("No."),
            _("Asset tag"),
            _("Kind"),
            _("Make and model"),
            _("Serial / IMEI"),
            _("Condition"),
        ),
        rows=tuple(
            (
                str(n),
                r.asset_tag,
                _.word(r.kind),
                _model(r.make, r.model),
                _identity(r.serial, r.imei),
                _.word(r.condition),
            )
            for n, r in enumerate(rows, 1)
        ),
        widths=(0.07, 0.2, 0.16, 0.21, 0.23, 0.13),
    )
    link = absolute(public_url, f"/allocations/{allocation_id}/handover.pdf")
    sheet = Sheet(
        issuer=(programme.upper(), _("No.: ……/BB-BG")),
        nation=_nation(_),
        place_date=place_and_date(_, province, allocation.created_at.astimezone(VIETNAM).date()),
        title=_("DEVICE HANDOVER RECORD"),
        subtitle=_("Allocation no. {n} of donated devices", n=allocation_id),
        blocks=(
            Text(
                _(
                    "Today, the parties below hand over and receive the donated devices listed, "
                    "which the province has allocated to the school."
                )
            ),
            Text(programme, lead=_("Handing over (Party A):")),
            Text(
                _("Represented by: {name}    Position: ……………………", name=officer or "……………………"),
                style="item",
            ),
            Text(f"{school} ({code}), {commune}, {province}", lead=_("Receiving (Party B):")),
            Text(_("Represented by: ……………………    Position: ……………………"), style="item"),
            Text(
                _("{n} devices, donated by: {donors}", n=len(rows), donors="; ".join(donors)),
                style="heading",
            ),
            table,
            Text(
                _(
                    "Party B has checked each device above against its label. This record is "
                    "made in two copies of equal value; each party keeps one."
                )
            ),
        ),
        signers=(
            Signer(_("FOR PARTY A"), _(SIGN_HINT), officer),
            Signer(_("FOR PARTY B"), _(SIGN_HINT)),
        ),
        link=link,
        link_caption=_("Scan to open this record:"),
        pictures=await _pictures(
            session,
            evidence.Owner(school_id=allocation.school_id, allocation_id=allocation_id),
            _,
        ),
        pictures_title=_(EVIDENCE_TITLE),
    )
    return Document(title=f"{_('DEVICE HANDOVER RECORD')} {allocation_id}", sheets=(sheet,))


# ---- a loan agreement ------------------------------------------------------------------


COMMITMENTS = (
    N_("Use the device only for the student's learning, and keep it clean and in good condition."),
    N_("Do not sell, lend, pawn or give the device to anyone else."),
    N_(
        "Do not remove the asset label, and do not change the device's accounts or management "
        "settings."
    ),
    N_("Tell the school at once if the device is lost, stolen or damaged."),
    N_(
        "Return the device with its charger and accessories when it is due, when the student "
        "leaves the school, or when the school asks for it."
    ),
    N_("Pay for loss or damage caused on purpose or by carelessness, as the school's rules say."),
)


async def agreement(
    session: AsyncSession,
    principal: Principal,
    assignment_id: int,
    _: Language,
    public_url: str,
    route: str,
) -> Document:
    """The loan agreement names the student: only those who see the student's personal
    data get it (others: 404, as if there were none), and reading it is logged."""
    if not (principal.is_admin or principal.is_school_staff):  # donors, officers: never
        raise NotFound(N_("No assignment {id}."), id=assignment_id)
    loan = await assignments.get_assignment(session, principal, assignment_id)
    if not students.sees_personal_data(principal, loan.school_id):
        raise NotFound(N_("No assignment {id}."), id=assignment_id)
    student, has_consent = await students.get_student(session, principal, loan.student_id)
    shown = students.student_read(principal, student, has_consent)
    await privacy.record_reads(session, principal, route, [loan])
    school, code, commune, province, _programme = await repo.place_of_school(
        session, loan.school_id
    )
    lent_by, make, model, serial, imei, donor = await repo.loan_facts(session, assignment_id)
    staff = await repo.user_name(session, lent_by)
    lent_on = loan.assigned_at.astimezone(VIETNAM).date()
    age = lent_on.year - shown.birth_year if shown.birth_year else None
    class_line = _("Class {c}, grade {g}", c=shown.class_name or "–", g=shown.grade)
    due = (
        _(
            "to be returned by {day}, or earlier when the school asks",
            day=short_date(_, loan.due_back_on),
        )
        if loan.due_back_on
        else _("to be returned when the school asks, and at the end of the school year")
    )
    signers = [Signer(_("GUARDIAN"), _(SIGN_HINT), shown.guardian_name or "")]
    if age is None or age >= 7:  # the child signs too from the age of 7
        signers.append(Signer(_("STUDENT"), _("(from age 7)"), shown.full_name or ""))
    signers.append(Signer(_("FOR THE SCHOOL"), _(SIGN_HINT), staff))
    guardian = shown.guardian_name or "……………………"
    if shown.guardian_phone:
        guardian = _("{name}, phone {phone}", name=guardian, phone=shown.guardian_phone)
    sheet = Sheet(
        issuer=(school.upper(), _("No.: ……/BB-MTB")),
        nation=_nation(_),
        place_date=place_and_date(_, province, lent_on),
        title=_("DEVICE LOAN AGREEMENT"),
        subtitle=_("A device lent to a student for learning"),
        blocks=(
            Text(
                _(
                    "{school} ({code}), {commune}, {province}; represented by {name}",
                    school=school,
                    code=code,
                    commune=commune,
                    province=province,
                    name=staff or "……………………",
                ),
                lead=_("The school (lender):"),
            ),
            Text(
                f"{shown.full_name or '–'} ({shown.student_code}), {class_line}",
                lead=_("The student:"),
            ),
            Text(guardian, lead=_("The guardian (borrower):")),
            Text(_("The device"), style="heading"),
            Table(
                header=(
                    _("Asset tag"),
                    _("Kind"),
                    _("Make and model"),
                    _("Serial / IMEI"),
                    _("Condition when lent"),
                ),
                rows=(
                    (
                        loan.asset_tag,
                        _.word(loan.device_kind),
                        _model(make, model),
                        _identity(serial, imei),
                        _.word(loan.condition_out),
                    ),
                ),
                widths=(0.2, 0.17, 0.22, 0.23, 0.18),
            ),
            Text(f"{short_date(_, lent_on)}, {due}.", lead=_("Lent on:")),
            Text(donor, lead=_("Donated by:")),
            Text(_("The guardian's commitments"), style="heading"),
            *(Text(f"{n}. {_(line)}", style="item") for n, line in enumerate(COMMITMENTS, 1)),
        ),
        signers=tuple(signers),
        link=absolute(public_url, f"/students/{loan.student_id}"),
        link_caption=_("Scan to open the student's record (school staff):"),
        pictures=await _pictures(
            session, evidence.Owner(school_id=loan.school_id, assignment_id=assignment_id), _
        ),
        pictures_title=_(EVIDENCE_TITLE),
    )
    return Document(title=f"{_('DEVICE LOAN AGREEMENT')} {assignment_id}", sheets=(sheet,))


# ---- a class loan sheet ----------------------------------------------------------------


async def loan_sheet(
    session: AsyncSession,
    principal: Principal,
    school_id: int,
    class_name: str | None,
    _: Language,
    public_url: str,
    route: str,
) -> Document:
    """One page per class (or only `class_name`'s): every student of the school holding a
    device, the device, and a column for the signature. Names are printed: the school's
    staff and admins only; every student shown is logged."""
    if not (principal.is_admin or principal.is_school_staff):  # donors, officers: never
        raise NotFound(N_("No school {id}."), id=school_id)
    school_row = await schools.get_school(session, principal, school_id)
    if not students.sees_personal_data(principal, school_id):
        raise NotFound(N_("No school {id}."), id=school_id)
    holders = await students.list_students(
        session,
        principal,
        school_id=school_id,
        class_name=class_name,
        status=StudentStatus.ACTIVE,
        has_device=True,
        limit=MAX_STUDENTS,
    )
    loans = await assignments.list_assignments(
        session, principal, school_id=school_id, open_=True, limit=MAX_STUDENTS
    )
    by_student = {s.id: s for s in holders}
    shown = [loan for loan in loans if loan.student_id in by_student]
    await privacy.record_reads(session, principal, route, shown)
    name, code, commune, province, _programme = await repo.place_of_school(session, school_id)
    classes: dict[str, list[tuple[str, str, str, str, str]]] = {}
    for loan in sorted(shown, key=lambda a: (by_student[a.student_id].full_name or "", a.id)):
        student = by_student[loan.student_id]
        classes.setdefault(student.class_name or "–", []).append(
            (
                student.student_code,
                student.full_name or "–",
                f"{loan.asset_tag}\n{_.word(loan.device_kind)}",
                short_date(_, loan.assigned_at.astimezone(VIETNAM).date()),
                short_date(_, loan.due_back_on),
            )
        )
    if class_name and not classes:
        classes[class_name] = []
    if not classes:
        classes["–"] = []
    today = local_today()
    sheets = []
    for klass in sorted(classes, key=_class_order):
        rows = classes[klass]
        sheets.append(
            Sheet(
                issuer=(name.upper(), _("No.: ……/DS-MTB")),
                nation=_nation(_),
                place_date=place_and_date(_, province, today),
                title=_("DEVICE LOAN SHEET"),
                subtitle=_(
                    "Class {c} · {school} ({code}), {commune}",
                    c=klass,
                    school=name,
                    code=code,
                    commune=commune,
                ),
                blocks=(
                    Text(
                        _(
                            "{n} students of this class hold a device of the school. Each "
                            "signs (or their guardian) to confirm the device they hold.",
                            n=len(rows),
                        )
                    ),
                    Table(
                        header=(
                            _("No."),
                            _("Student code"),
                            _("Full name"),
                            _("Device"),
                            _("Lent on"),
                            _("Due back"),
                            _("Signature"),
                        ),
                        rows=tuple((str(n), *row, "") for n, row in enumerate(rows, 1)),
                        widths=(0.06, 0.12, 0.2, 0.19, 0.14, 0.14, 0.15),
                        padding=8,
                    ),
                ),
                signers=(
                    Signer(_("HOMEROOM TEACHER"), _(SIGN_HINT)),
                    Signer(_("FOR THE SCHOOL"), _(SIGN_HINT)),
                ),
                link=absolute(public_url, f"/schools/{school_row.id}/students"),
                link_caption=_("Scan to open the school's students (school staff):"),
            )
        )
    return Document(title=f"{_('DEVICE LOAN SHEET')} · {name}", sheets=tuple(sheets))


def _class_order(name: str) -> tuple[int, str]:
    """6A before 10A: by the grade's number, then the name."""
    digits = "".join(ch for ch in name[:2] if ch.isdigit())
    return (int(digits) if digits else 99, name)


# ---- a retired device's disposal record --------------------------------------------------


async def retirement(
    session: AsyncSession,
    principal: Principal,
    tag: str,
    _: Language,
    public_url: str,
) -> Document:
    """For a retired device, to those who may read its record (not donors: the reason is
    free text, which donors never read). A device not retired: 409."""
    device = await devices.get_device(session, principal, tag)
    if principal.is_donor:
        raise NotFound(N_("No device {tag}."), tag=device.asset_tag)
    if device.status != DeviceStatus.RETIRED:
        raise Conflict(
            N_("The device is not retired; its disposal record is made when it is retired."),
            extra={"current_status": device.status},
        )
    read = await devices.read_device(session, principal, device.asset_tag)
    retired = await repo.retirement(session, device.id or 0)
    wipe = await repo.last_wipe(session, device.id or 0)
    donor, reference, received_on = await repo.donor_of(session, device)
    province, programme = await repo.province_names(session, device.province_code)
    school = None
    if retired and retired.school_id:
        school = (await repo.place_of_school(session, retired.school_id))[0]
    retired_on = retired.at.astimezone(VIETNAM).date() if retired else local_today()
    reason = None
    if retired is not None:
        readable = devices.may_read_text(
            principal,
            ever_lent=await devices_repo.ever_lent(session, device.id or 0),
            school_id=retired.school_id,
        )
        if readable:
            reason = (retired.data or {}).get("reason") or retired.note
    facts = [
        (_("Asset tag"), device.asset_tag),
        (_("Kind"), _.word(device.kind)),
        (_("Make and model"), _model(device.make, device.model)),
        (_("Serial / IMEI"), _identity(device.serial, device.imei or device.iccid)),
        (_("Donated by"), f"{donor} ({reference})"),
        (_("Received"), short_date(_, received_on or read.received_at.date())),
        (_("Last school"), school or "–"),
        (_("Condition"), _.word(device.condition)),
        (_("Activation lock"), _.word(device.activation_lock)),
        (_("Retired on"), short_date(_, retired_on)),
        (_("Reason"), reason or "……………………"),
    ]
    if wipe is not None:
        at, by = wipe
        wiped = Text(
            _(
                "The device's data was wiped (reset to factory settings) on {day} by {name}.",
                day=short_date(_, at.astimezone(VIETNAM).date()),
                name=by or "–",
            ),
            lead=_("Data wipe:"),
        )
    else:
        wiped = Text(
            _(
                "No wipe is recorded for this device. Before it leaves: ☐ its data was wiped "
                "(factory reset)  ☐ its storage was destroyed  ☐ it holds no storage. "
                "Checked by: ……………………"
            ),
            lead=_("Data wipe:"),
        )
    sheet = Sheet(
        issuer=(programme.upper(), _("No.: ……/BB-TL")),
        nation=_nation(_),
        place_date=place_and_date(_, province, retired_on),
        title=_("DEVICE DISPOSAL RECORD"),
        subtitle=_("Retirement of a donated device from the programme"),
        blocks=(
            Text(
                _(
                    "The device below has been retired from the programme and leaves its "
                    "records; it is not to be lent or allocated again."
                )
            ),
            Table(header=(_("Item"), _("Details")), rows=tuple(facts), widths=(0.3, 0.7)),
            wiped,
            Text(_("Disposal (e-waste, donated on, destroyed): ……………………………………")),
        ),
        signers=(
            Signer(_("PREPARED BY"), _(SIGN_HINT), retired.full_name if retired else ""),
            Signer(_("APPROVED BY"), _(SIGN_HINT)),
        ),
        link=device_link(public_url, device.asset_tag),
        link_caption=_("Scan to open the device's history:"),
    )
    return Document(title=f"{_('DEVICE DISPOSAL RECORD')} {device.asset_tag}", sheets=(sheet,))
