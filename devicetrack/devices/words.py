"""The words of a device import: each column's heading in Vietnamese and English (the
pages' labels, which the import templates write and the import reads), other headers
people use, and the words for kinds, conditions and carriers (the pages' words first). All
are matched with or without diacritics (common/words.py)."""

from __future__ import annotations

from devicetrack.common.words import Words
from devicetrack.devices.values import ActivationLock, Carrier, Condition, DeviceKind

# Column -> (Vietnamese, English) heading.
HEADINGS: dict[str, tuple[str, str]] = {
    "kind": ("Loại", "Kind"),
    "make": ("Hãng", "Make"),
    "model": ("Mẫu máy", "Model"),
    "serial": ("Số sê-ri", "Serial"),
    "imei": ("IMEI", "IMEI"),
    "iccid": ("ICCID", "ICCID"),
    "msisdn": ("Số điện thoại", "Phone number"),
    "carrier": ("Nhà mạng", "Carrier"),
    "plan_name": ("Gói cước", "Plan"),
    "plan_quota_gb": ("Dung lượng (GB)", "Data (GB)"),
    "plan_expires_on": ("Gói cước hết hạn", "Plan expires"),
    "paid_by": ("Trả bởi", "Paid by"),
    "condition": ("Tình trạng", "Condition"),
    "asset_tag": ("Mã tài sản", "Asset tag"),
    "note": ("Ghi chú", "Note"),
    "warranty_until": ("Bảo hành đến", "Warranty until"),
    # Intake facts of used devices.
    "activation_lock": ("Khóa kích hoạt", "Activation lock"),
    "storage_gb": ("Bộ nhớ trong (GB)", "Storage (GB)"),
    "ram_gb": ("RAM (GB)", "RAM (GB)"),
    "battery_health_pct": ("Tình trạng pin (%)", "Battery health (%)"),
}
# Other headers people write, by column.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "kind": ("loại thiết bị", "type"),
    "make": ("manufacturer", "brand"),
    "model": ("mẫu", "model name", "dòng máy"),
    "serial": ("serial number", "số serial", "số seri", "sê ri", "seri", "sn"),
    "imei": ("số imei",),
    "iccid": ("số iccid",),
    "msisdn": ("phone", "sđt"),
    "plan_name": ("plan name",),
    "plan_quota_gb": ("quota gb", "dung lượng gb"),
    "plan_expires_on": ("hết hạn gói",),
    "asset_tag": ("tag",),
    "note": ("notes",),
    "warranty_until": ("warranty",),
    "activation_lock": ("khóa tài khoản", "activation", "lock"),
    "storage_gb": (
        "bộ nhớ trong",
        "bộ nhớ trong gb",
        "bộ nhớ gb",
        "bộ nhớ",
        "rom gb",
        "storage",
        "storage gb",
    ),
    "ram_gb": ("ram", "ram gb"),
    "battery_health_pct": (
        "pin %",
        "pin",
        "tình trạng pin",
        "tình trạng pin %",
        "dung lượng pin %",
        "battery",
        "battery health",
        "battery %",
    ),
}
KINDS = Words(
    DeviceKind,
    {
        DeviceKind.LAPTOP: ("Máy tính xách tay", "Laptop"),
        DeviceKind.DESKTOP: ("Máy tính để bàn", "Desktop"),
        DeviceKind.TABLET: ("Máy tính bảng", "Tablet"),
        DeviceKind.SMARTPHONE: ("Điện thoại thông minh", "Smartphone", "Điện thoại"),
        DeviceKind.SIM: ("Thẻ SIM", "SIM card"),
        DeviceKind.ROUTER: ("Bộ phát wifi", "Router", "Bộ phát wi-fi"),
        DeviceKind.OTHER: ("Khác", "Other"),
    },
)
CONDITIONS = Words(
    Condition,
    {
        Condition.NEW: ("Mới", "New"),
        Condition.GOOD: ("Tốt", "Good"),
        Condition.FAIR: ("Khá", "Fair", "Trung bình"),
        Condition.POOR: ("Kém", "Poor"),
        Condition.BROKEN: ("Hỏng", "Broken"),
    },
)
CARRIERS = Words(
    Carrier,
    {
        Carrier.VIETTEL: ("Viettel", "Viettel", "Vietel"),
        Carrier.VINAPHONE: ("VinaPhone", "VinaPhone", "Vina", "VNPT"),
        Carrier.MOBIFONE: ("MobiFone", "MobiFone", "Mobi", "Mobiphone"),
        Carrier.OTHER: ("Khác", "Other"),
    },
)
ACTIVATION_LOCKS = Words(
    ActivationLock,
    {
        ActivationLock.UNKNOWN: ("Chưa kiểm tra", "Not checked", "Chưa rõ", "Không rõ", "Unknown"),
        ActivationLock.CLEAR: ("Không khóa", "No lock", "Đã gỡ", "Clear", "No", "None"),
        ActivationLock.LOCKED_ICLOUD: ("Khóa iCloud", "Locked to iCloud", "iCloud"),
        ActivationLock.LOCKED_GOOGLE_FRP: (
            "Khóa Google (FRP)",
            "Locked to Google (FRP)",
            "Khóa Google",
            "Google FRP",
            "Google",
            "FRP",
        ),
        ActivationLock.LOCKED_MDM: ("Khóa bởi MDM", "Locked by MDM", "Khóa MDM", "MDM"),
    },
)
