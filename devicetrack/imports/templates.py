"""The import templates: for each import (devices, students, schools, enrolments), a
workbook whose first sheet has the import's columns headed in the reader's language and one
example row that imports as it is, and whose second sheet lists the words each listed
column takes.

The headings and words are the imports' own (devices/words.py, students/words.py,
schools/words.py): what a template writes, its import reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from devicetrack.auth.principal import Principal
from devicetrack.common.spreadsheet import Column, Sheet
from devicetrack.common.words import Words
from devicetrack.devices import intake_rows
from devicetrack.devices import words as device_words
from devicetrack.devices.values import ActivationLock, Carrier, Condition, DeviceKind
from devicetrack.schools import importer as school_import
from devicetrack.schools import words as school_words
from devicetrack.schools.values import SchoolLevel
from devicetrack.students import importer as student_import
from devicetrack.students import words as student_words
from devicetrack.students.values import PriorityFlag, StudentStatus


@dataclass(frozen=True)
class Template:
    title: tuple[str, str]  # the first sheet's name (Vietnamese, English)
    columns: Sequence[str]
    headings: Mapping[str, tuple[str, str]]
    listed: Mapping[str, Words[Any]]
    # Who may import this, and so download its template.
    may: Callable[[Principal], bool]


def _school_year(today: date) -> str:
    """This school year ("2025-2026": a school year starts in September)."""
    start = today.year if today.month >= 9 else today.year - 1
    return f"{start}-{start + 1}"


TEMPLATES: dict[str, Template] = {
    "devices": Template(
        title=("Thiết bị", "Devices"),
        columns=intake_rows.COLUMNS,
        headings=device_words.HEADINGS,
        listed={
            "kind": device_words.KINDS,
            "carrier": device_words.CARRIERS,
            "condition": device_words.CONDITIONS,
            "activation_lock": device_words.ACTIVATION_LOCKS,
        },
        may=lambda p: p.is_admin or p.is_province_officer or p.is_donor,
    ),
    "students": Template(
        title=("Học sinh", "Students"),
        columns=student_import.COLUMNS,
        headings=student_words.HEADINGS,
        listed={"priority": student_words.PRIORITIES, "status": student_words.STATUSES},
        may=lambda p: p.is_admin or p.is_school_staff,
    ),
    "schools": Template(
        title=("Trường", "Schools"),
        columns=(*school_import.SCHOOL_COLUMNS, *school_import.ENROLMENT_COLUMNS),
        headings=school_words.HEADINGS | school_words.ENROLMENT_HEADINGS,
        listed={"levels": school_words.LEVELS},
        may=lambda p: p.is_admin or p.is_province_officer,
    ),
    "enrolments": Template(
        title=("Sĩ số", "Enrolments"),
        columns=("school_code", *school_import.ENROLMENT_COLUMNS),
        headings={"school_code": school_words.HEADINGS["code"]} | school_words.ENROLMENT_HEADINGS,
        listed={},
        may=lambda p: p.is_admin or p.is_province_officer or p.is_school_staff,
    ),
}


def example(name: str, lang: str, today: date, commune: str, school: str) -> dict[str, Any]:
    """The example row of a template, in the reader's words; `commune` and `school` are a
    real commune and school of the reader's, so the row imports as it is."""
    year = _school_year(today)
    if name == "devices":
        return {
            "kind": device_words.KINDS.name(DeviceKind.TABLET, lang),
            "make": "Samsung",
            "model": "Galaxy Tab A9",
            "serial": "R9XT1234",
            "carrier": device_words.CARRIERS.name(Carrier.VIETTEL, lang),
            "condition": device_words.CONDITIONS.name(Condition.NEW, lang),
            "note": "Lô 1" if lang == "vi" else "Batch 1",
            "warranty_until": date(today.year + 2, 12, 31),
            "activation_lock": device_words.ACTIVATION_LOCKS.name(ActivationLock.CLEAR, lang),
            "storage_gb": 64,
            "ram_gb": 4,
        }
    if name == "students":
        flags = (PriorityFlag.ETHNIC_MINORITY, PriorityFlag.REMOTE)
        return {
            "student_code": "HS-0001",
            "full_name": "Lò Thị Mai",
            "grade": 7,
            "class_name": "7A",
            "priority": "; ".join(student_words.PRIORITIES.name(f, lang) for f in flags),
            "birth_year": today.year - 13,
            "guardian_name": "Lò Văn Pọm",
            "guardian_phone": "0912345678",
            "status": student_words.STATUSES.name(StudentStatus.ACTIVE, lang),
        }
    levels = (SchoolLevel.PRIMARY, SchoolLevel.LOWER_SECONDARY)
    enrolment = {"school_year": year, "students_total": 412, "priority_students": 130}
    if name == "schools":
        return {
            "code": "MAU-0001",
            "name": "Trường PTDTBT TH&THCS Mường Phăng",
            "commune_code": commune,
            "levels": "; ".join(school_words.LEVELS.name(level, lang) for level in levels),
            "address": "Bản Mường Phăng",
        } | enrolment
    return {"school_code": school} | enrolment


def sheets(name: str, lang: str, row: Mapping[str, Any]) -> list[Sheet]:
    """The template's two sheets: the columns with the example row, then the words of its
    listed columns (heading, word in the reader's language, code)."""
    template = TEMPLATES[name]
    index = 0 if lang == "vi" else 1
    headings = [template.headings[c][index] for c in template.columns]
    first = Sheet(
        title=template.title[index],
        columns=[Column(h, width=max(12.0, len(h) + 2.0)) for h in headings],
        rows=[[row.get(c) for c in template.columns]],
    )
    values = [
        [template.headings[column][index], words.name(member, lang), str(member)]
        for column, words in template.listed.items()
        for member in words.enum
    ]
    if lang == "vi":
        titles = ("Giá trị cho phép", "Cột", "Giá trị", "Mã")
    else:
        titles = ("Allowed values", "Column", "Value", "Code")
    second = Sheet(
        title=titles[0],
        columns=[Column(titles[1], width=24.0), Column(titles[2], width=28.0), Column(titles[3])],
        rows=values,
    )
    return [first, second]
