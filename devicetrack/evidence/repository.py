"""Queries of the evidence table. The content (up to 5 MB a row) is read only by `content`
and `images_of`, its small copy only by `thumbnail`; lists read the other columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.evidence.models import Evidence

# Every column but the content, and its size.
_LISTED: tuple[Any, ...] = (
    Evidence.id,
    Evidence.school_id,
    Evidence.allocation_id,
    Evidence.assignment_id,
    Evidence.consent_id,
    Evidence.student_id,
    Evidence.kind,
    Evidence.media_type,
    Evidence.width,
    Evidence.height,
    Evidence.signer,
    Evidence.created_by,
    Evidence.created_at,
    func.octet_length(Evidence.content).label("size_bytes"),
)


async def add(session: AsyncSession, evidence: Evidence) -> Evidence:
    session.add(evidence)
    await session.flush()
    return evidence


async def listed(session: AsyncSession, *where: ColumnElement[bool]) -> list[Any]:
    """The rows (without their content) matching `where`, oldest first."""
    rows = await session.execute(select(*_LISTED).where(*where).order_by(Evidence.id))
    return list(rows.all())


async def one(session: AsyncSession, evidence_id: int) -> Any | None:
    """One row without its content, or None."""
    rows = await listed(session, Evidence.id == evidence_id)
    return rows[0] if rows else None


async def content(session: AsyncSession, evidence_id: int) -> bytes | None:
    found: bytes | None = await session.scalar(
        select(Evidence.content).where(Evidence.id == evidence_id)
    )
    return found


async def thumbnail(session: AsyncSession, evidence_id: int) -> bytes | None:
    """The small copy kept of an image, if one has been made."""
    found: bytes | None = await session.scalar(
        select(Evidence.thumbnail).where(Evidence.id == evidence_id)
    )
    return found


async def keep_thumbnail(session: AsyncSession, evidence_id: int, data: bytes) -> None:
    """Keep the small copy made of an image (the first one made, should two requests have
    made it at once: they are the same)."""
    await session.execute(
        update(Evidence)
        .where(Evidence.id == evidence_id, Evidence.thumbnail.is_(None))
        .values(thumbnail=data)
    )


async def images_of(
    session: AsyncSession, where: ColumnElement[bool], limit: int
) -> list[tuple[str, str | None, bytes]]:
    """(kind, signer, content) of the first `limit` pieces of evidence matching `where`."""
    rows = await session.execute(
        select(Evidence.kind, Evidence.signer, Evidence.content)
        .where(where)
        .order_by(Evidence.id)
        .limit(limit)
    )
    return [(kind, signer, data) for kind, signer, data in rows.all()]


def of_allocation(allocation_id: int) -> ColumnElement[bool]:
    return Evidence.allocation_id == allocation_id


def of_assignment(assignment_id: int) -> ColumnElement[bool]:
    return Evidence.assignment_id == assignment_id


def of_consent(consent_id: int) -> ColumnElement[bool]:
    return Evidence.consent_id == consent_id


def of_student(student_id: int) -> ColumnElement[bool]:
    return Evidence.student_id == student_id


async def forget_student(session: AsyncSession, student_id: int) -> int:
    """Delete the evidence of a student's loans and consents (erasing the student: a
    guardian's signature and a photo of a signed page are personal data). How many."""
    result: Any = await session.execute(delete(Evidence).where(Evidence.student_id == student_id))
    return int(result.rowcount or 0)
