"""The words of a students import: each column's heading in Vietnamese and English (the
pages' labels, which the import template writes and the import reads), other headers
people use, and the words for priority flags and statuses (the pages' words first). All
are matched with or without diacritics (common/words.py)."""

from __future__ import annotations

from devicetrack.common.words import Words
from devicetrack.students.values import PriorityFlag, StudentStatus

# Column -> (Vietnamese, English) heading.
HEADINGS: dict[str, tuple[str, str]] = {
    "student_code": ("Mã học sinh", "Student code"),
    "full_name": ("Họ và tên", "Full name"),
    "grade": ("Khối", "Grade"),
    "class_name": ("Lớp", "Class"),
    "priority": ("Đối tượng ưu tiên", "Priority"),
    "national_id": ("Số định danh", "National ID"),
    "birth_year": ("Năm sinh", "Birth year"),
    "guardian_name": ("Phụ huynh", "Guardian"),
    "guardian_phone": ("Điện thoại phụ huynh", "Guardian's phone"),
    "status": ("Trạng thái", "Status"),
}
# Other headers people write, by column ("Lớp (khối)" is how the pages named the grade).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "student_code": ("code", "mã hs"),
    "full_name": ("name", "họ tên"),
    "grade": ("lớp (khối)",),
    "class_name": ("class",),
    "priority": ("ưu tiên", "diện ưu tiên"),
    "national_id": ("cccd", "mã định danh"),
    "guardian_name": ("guardian name", "tên phụ huynh"),
    "guardian_phone": ("guardian phone", "sđt phụ huynh"),
}
PRIORITIES = Words(
    PriorityFlag,
    {
        PriorityFlag.POOR_HOUSEHOLD: ("Hộ nghèo", "Poor household"),
        PriorityFlag.ETHNIC_MINORITY: ("Dân tộc thiểu số", "Ethnic minority"),
        PriorityFlag.DISABILITY: ("Khuyết tật", "Disability"),
        PriorityFlag.REMOTE: ("Vùng sâu vùng xa", "Remote area", "Vùng khó khăn"),
    },
)
STATUSES = Words(
    StudentStatus,
    {
        StudentStatus.ACTIVE: ("Đang học", "Active"),
        StudentStatus.LEFT: ("Đã nghỉ học", "Left school", "Đã nghỉ", "Nghỉ học"),
        StudentStatus.GRADUATED: ("Đã tốt nghiệp", "Graduated", "Tốt nghiệp"),
    },
)
