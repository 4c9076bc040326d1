"""The words of the schools and enrolments imports: each column's heading in Vietnamese
and English (which the import templates write and the imports read), other headers people
use, and the words for school levels. All are matched with or without diacritics
(common/words.py)."""

from __future__ import annotations

from devicetrack.common.words import Words
from devicetrack.schools.values import SchoolLevel

# Column -> (Vietnamese, English) heading, for a school's row...
HEADINGS: dict[str, tuple[str, str]] = {
    "code": ("Mã trường", "School code"),
    "name": ("Tên trường", "School name"),
    "province_code": ("Mã tỉnh", "Province code"),
    "commune_code": ("Mã xã", "Commune code"),
    "levels": ("Cấp học", "Levels"),
    "former_district": ("Huyện cũ", "Former district"),
    "address": ("Địa chỉ", "Address"),
    "active": ("Đang hoạt động", "Active"),
}
# ... and for its enrolment (in the schools import, or on its own by the school's code).
ENROLMENT_HEADINGS: dict[str, tuple[str, str]] = {
    "school_year": ("Năm học", "School year"),
    "students_total": ("Số học sinh", "Students"),
    "priority_students": ("Học sinh ưu tiên", "Priority students"),
}
# Other headers people write, by column.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("mã", "school code", "code"),
    "name": ("school name", "tên", "the name"),
    "levels": ("cấp",),
    "students_total": ("students total", "tổng số học sinh", "number of students"),
    # The admin pages' labels (web/i18n.py FIELDS), so that a sheet typed from them reads.
    "priority_students": ("học sinh diện ưu tiên",),
    "active": ("in use",),
}
LEVELS = Words(
    SchoolLevel,
    {
        SchoolLevel.PRESCHOOL: ("Mầm non", "Preschool"),
        SchoolLevel.PRIMARY: ("Tiểu học", "Primary"),
        SchoolLevel.LOWER_SECONDARY: ("THCS", "Lower secondary", "Trung học cơ sở"),
        SchoolLevel.UPPER_SECONDARY: ("THPT", "Upper secondary", "Trung học phổ thông"),
        SchoolLevel.CONTINUING: ("GDTX", "Continuing education", "Giáo dục thường xuyên"),
    },
)
