"""Messages by id: every message the code and templates use is in the catalogues, translated
into Vietnamese with the same placeholders; the catalogues are what extraction makes of
the code today; counts take each language's plural forms; and the API answers its refusals
in the reader's language (Accept-Language, else the caller's own, else English)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from babel.messages.pofile import read_po, write_po
from litestar.testing import AsyncTestClient

import devicetrack.app  # noqa: F401  (every DomainError subclass defined)
from devicetrack.auth.values import Locale
from devicetrack.devices.tags import format_tags
from devicetrack.errors import DomainError
from devicetrack.i18n import Message, N_plural, choose_language, languages, translate
from devicetrack.i18n.catalogues import read, template
from devicetrack.web.i18n import Translator
from tests.factories import Caller, Factory, assert_problem
from tests.lifecycle_helpers import API, Scene, make_scene

PACKAGE = Path(__file__).resolve().parents[1] / "devicetrack"
# A letter only Vietnamese writes: a Vietnamese sentence has at least one.
VIETNAMESE = re.compile(
    "[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.IGNORECASE
)


def _ids(message: Any) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message: Any) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> set[str]:
    """The names a text's {placeholders} use ({n:,} and {code!r} name n and code)."""
    return {
        re.split(r"[.\[]", name, maxsplit=1)[0]
        for _, name, _, _ in string.Formatter().parse(text)
        if name is not None
    }


# ---- the catalogues ---------------------------------------------------------------


def test_every_message_has_its_vietnamese_with_the_same_placeholders() -> None:
    used = {m.id: m for m in template() if m.id}
    assert len(used) > 600  # the extraction really found the code's and templates' messages
    vi = {m.id: m for m in read("vi") if m.id}
    missing = sorted(str(i) for i in used if i not in vi)
    assert missing == [], missing
    untranslated = sorted(str(i) for i, m in vi.items() if not all(_strings(m)))
    assert untranslated == [], untranslated
    fuzzy = sorted(str(i) for i, m in vi.items() if m.fuzzy)
    assert fuzzy == [], fuzzy
    for msgid, message in vi.items():
        wanted = set().union(*(_placeholders(i) for i in _ids(message)))
        for said in _strings(message):
            assert _placeholders(said) == wanted, (msgid, said)


def test_a_translation_that_drops_a_placeholder_is_caught() -> None:
    """The check above, on a catalogue entry made wrong on purpose."""
    assert _placeholders("Không có thiết bị.") != _placeholders("No device {tag}.")
    assert _placeholders("“{code}” không phải mã tài sản") == _placeholders("{code!r} is not")
    assert _placeholders("tối đa {n:,} ký tự") == {"n"}


def test_the_catalogues_are_what_extraction_makes_of_the_code_today(tmp_path: Path) -> None:
    """`devicetrack i18n extract` has been run since the last message changed: the ids in
    the code and templates, written out and read back, are exactly each catalogue's."""
    pot = tmp_path / "devicetrack.pot"
    with pot.open("wb") as file:
        write_po(file, template())
    with pot.open("rb") as file:
        extracted = {m.id for m in read_po(file) if m.id}
    for lang in languages():
        catalogue = read(lang)
        assert {m.id for m in catalogue if m.id} == extracted, lang
        assert not catalogue.obsolete, lang


def test_each_language_a_user_can_choose_has_a_catalogue() -> None:
    assert set(languages()) == set(Locale)


def test_no_refusal_is_written_as_an_english_sentence() -> None:
    """Every DomainError and FieldError in devicetrack/ is made from a message id (N_,
    N_plural, a Message or a name holding one), never from a literal or f-string."""
    refusals = {"FieldError"}
    stack: list[type] = [DomainError]
    while stack:
        cls = stack.pop()
        refusals.add(cls.__name__)
        stack += cls.__subclasses__()
    assert len(refusals) > 15
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in refusals:
                continue
            given = node.args[:1] + [k.value for k in node.keywords if k.arg == "message"]
            literal = [a for a in given if isinstance(a, ast.Constant | ast.JoinedStr)]
            if literal:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert found == []


# ---- plural forms ---------------------------------------------------------------------


def test_counts_take_each_languages_plural_forms() -> None:
    en, vi = Translator("en"), Translator("vi")
    one, many = "{n} device allocated.", "{n} devices allocated."
    assert en.ngettext(one, many, 1) == "1 device allocated."
    assert en.ngettext(one, many, 2) == "2 devices allocated."
    assert en.ngettext(one, many, 0) == "0 devices allocated."
    # Vietnamese has one form: the noun does not change with the count.
    assert vi.ngettext(one, many, 1) == "Đã phân bổ 1 thiết bị."
    assert vi.ngettext(one, many, 2) == "Đã phân bổ 2 thiết bị."
    rows = N_plural(
        "{n} row is wrong; nothing was imported.", "{n} rows are wrong; nothing was imported."
    )
    assert translate(Message(rows, n=1), "en") == "1 row is wrong; nothing was imported."
    assert translate(Message(rows, n=1200), "en") == "1200 rows are wrong; nothing was imported."
    assert translate(Message(rows, n=3), "vi") == "3 dòng bị lỗi; chưa nhập gì cả."
    # Numbers grouped the reader's way where a message asks for it ({max:,}).
    more = Message("The file has more than {max:,} rows; split it into smaller files.")
    assert translate(Message(more, max=100000), "en").startswith("The file has more than 100,000")
    assert translate(Message(more, max=100000), "vi").startswith("Tệp có hơn 100.000 dòng")


async def test_an_import_counts_its_wrong_rows_in_both_languages(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    url = f"{API}/students/import"
    one = "student_code,full_name,grade\nHS-1,,5\nHS-2,Lò Thị Mai,5\n"
    two = "student_code,full_name,grade\nHS-1,,5\nHS-2,Lò Thị Mai,15\n"
    said = {}
    for name, csv in (("one", one), ("two", two)):
        for lang in ("en", "vi"):
            response = await client.post(
                url,
                params={"school_id": scene.school_a},
                headers=scene.staff_a.headers | {"Accept-Language": lang},
                files={"file": ("hs.csv", csv.encode(), "text/csv")},
            )
            said[name, lang] = assert_problem(response, 422)
    assert said["one", "en"]["detail"] == "1 row is wrong; nothing was imported."
    assert said["two", "en"]["detail"] == "2 rows are wrong; nothing was imported."
    assert said["one", "vi"]["detail"] == "1 dòng bị lỗi; chưa nhập gì cả."
    assert said["two", "vi"]["detail"] == "2 dòng bị lỗi; chưa nhập gì cả."
    assert said["two", "vi"]["title"] == "Dữ liệu chưa hợp lệ"
    assert [e["message"] for e in said["two", "vi"]["errors"]] == [
        "bắt buộc",
        "phải từ 0 (mầm non) đến 12",
    ]
    assert [e["message"] for e in said["two", "en"]["errors"]] == [
        "required",
        "must be 0 (preschool) to 12",
    ]


# ---- which language an answer is in ------------------------------------------------


def test_the_language_of_an_answer() -> None:
    assert choose_language("vi", None) == "vi"
    assert choose_language("vi-VN,vi;q=0.9,en-US;q=0.8,en;q=0.7", "en") == "vi"
    assert choose_language("fr-FR, en;q=0.5, vi;q=0.8", None) == "vi"
    assert choose_language("en-GB", "vi") == "en"
    assert choose_language("vi;q=0, en;q=0.1", "vi") == "en"
    # Naming no language we have: the caller's own, else English.
    assert choose_language("fr, de", "vi") == "vi"
    assert choose_language("*", "vi") == "vi"
    assert choose_language(None, "vi") == "vi"
    assert choose_language("", "en") == "en"
    assert choose_language(None, None) == "en"
    assert choose_language("q=;;,,,vi;q=abc", None) == "en"


async def test_without_accept_language_a_user_reads_their_own_language(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    staff = await factory.staff(await factory.school())  # a new user's language is vi
    url = f"{API}/students/987654"
    token = {"Authorization": staff.headers["Authorization"]}  # and no Accept-Language
    del client.headers["Accept-Language"]
    try:
        vietnamese = assert_problem(await client.get(url, headers=token), 404)
        await db.execute("UPDATE users SET locale = 'en' WHERE id = $1", staff.user_id)
        english = assert_problem(await client.get(url, headers=token), 404)
        anonymous = assert_problem(await client.get(url), 401)
        asked = assert_problem(
            await client.get(url, headers=token | {"Accept-Language": "vi"}), 404
        )
    finally:
        client.headers["Accept-Language"] = "en"
    assert vietnamese["title"] == "Không tìm thấy"
    assert vietnamese["detail"] == "Không có học sinh 987654."
    assert english["detail"] == "No student 987654."
    assert anonymous["detail"] == "Send a valid bearer token or API key."
    assert asked["detail"] == "Không có học sinh 987654."


# ---- refusals in Vietnamese -----------------------------------------------------------


class Refusals:
    """Sends a request once in English and once in Vietnamese and keeps both answers."""

    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client
        self.said: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    async def ask(
        self,
        name: str,
        status: int,
        method: str,
        url: str,
        caller: Caller | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        bodies = []
        for lang in ("en", "vi"):
            sent = (caller.headers if caller else {}) | (headers or {}) | {"Accept-Language": lang}
            response = await self.client.request(method, url, headers=sent, **kwargs)
            bodies.append(assert_problem(response, status))
        en, vi = bodies
        assert en["type"] == vi["type"], name
        self.said[name] = (en, vi)
        return en, vi


UNKNOWN_TAG = format_tags("11", 999_000, 1)[0]


async def _refusals(scene: Scene, client: AsyncTestClient) -> Refusals:
    refusals = Refusals(client)
    ask = refusals.ask
    officer, admin, staff, donor = scene.officer, scene.admin, scene.staff_a, scene.donor
    in_stock, at_school, retired = await scene.tablets(3)
    await scene.at_school([at_school])
    await scene.act(officer, retired, "retire")
    wrong_check = UNKNOWN_TAG[:-1] + ("0" if UNKNOWN_TAG[-1] != "0" else "1")
    student = await scene.student()
    audit = await client.post(
        f"{API}/audits", headers=staff.headers, json={"school_id": scene.school_a}
    )
    assert audit.status_code == 201, audit.text

    # 404: objects that do not exist, or that the caller may not see
    await ask("no device", 404, "GET", f"{API}/devices/{UNKNOWN_TAG}", officer)
    await ask("no student", 404, "GET", f"{API}/students/999999", admin)
    await ask("no audit", 404, "GET", f"{API}/audits/999999", admin)
    await ask("no donation", 404, "GET", f"{API}/donations/999999", admin)
    await ask("no donor", 404, "GET", f"{API}/donors/999999", admin)
    await ask("no province", 404, "GET", f"{API}/provinces/99/communes", admin)
    await ask("no such action", 404, "POST", f"{API}/devices/{in_stock}/actions/fly", officer)
    await ask("scan finds nothing", 404, "GET", f"{API}/scan/356938035643809", officer)
    await ask("no route", 404, "GET", f"{API}/nowhere", officer)
    # 409: the state machine and other conflicts
    await ask(
        "retired cannot be lost",
        409,
        "POST",
        f"{API}/devices/{retired}/actions/report-lost",
        officer,
        json={},
    )
    await ask(
        "no consent",
        409,
        "POST",
        f"{API}/assignments",
        staff,
        json={"asset_tag": at_school, "student_id": student["id"]},
    )
    await ask(
        "no SIM to remove",
        409,
        "POST",
        f"{API}/devices/{at_school}/actions/remove-sim",
        staff,
        json={},
    )
    await ask(
        "stock too short",
        409,
        "POST",
        f"{API}/allocations",
        officer,
        json={"school_id": scene.school_a, "kind": "laptop", "quantity": 5},
    )
    await ask(
        "reference taken",
        409,
        "POST",
        f"{API}/donations",
        officer,
        json={"donor_id": scene.donor_id, "province_code": "11", "reference": "LC-1"},
    )
    await ask("nothing scanned", 409, "POST", f"{API}/audits/{audit.json()['id']}/close", staff)
    # 403: roles
    await ask(
        "donor cannot receive",
        403,
        "POST",
        f"{API}/devices/{in_stock}/actions/receive",
        donor,
        json={},
    )
    await ask(
        "donor sees no students",
        403,
        "POST",
        f"{API}/students",
        donor,
        json={"school_id": scene.school_a, "student_code": "X", "full_name": "Y", "grade": 5},
    )
    await ask("only admins remove donors", 403, "DELETE", f"{API}/donors/{scene.donor_id}", officer)
    await ask(
        "staff reserve no labels",
        403,
        "POST",
        f"{API}/label-batches",
        staff,
        json={"province_code": "11", "count": 10},
    )
    await ask(
        "only admins make users",
        403,
        "POST",
        f"{API}/users",
        officer,
        json={
            "email": "x@test.vn",
            "full_name": "X",
            "password": "a-long-password-1",
            "role": "admin",
        },
    )
    # 422: the domain's own validation, with field and row errors
    await ask("not a tag", 422, "GET", f"{API}/devices/not-a-tag", officer)
    await ask("wrong check character", 422, "GET", f"{API}/devices/{wrong_check}", officer)
    await ask(
        "tags or kind",
        422,
        "POST",
        f"{API}/allocations",
        officer,
        json={
            "school_id": scene.school_a,
            "asset_tags": [in_stock],
            "kind": "tablet",
            "quantity": 1,
        },
    )
    await ask(
        "transfer needs a school",
        422,
        "POST",
        f"{API}/devices/{at_school}/actions/transfer",
        officer,
        json={},
    )
    await ask(
        "consent from the future",
        422,
        "POST",
        f"{API}/students/{student['id']}/consents",
        admin,
        json={"given_by": "Lò Văn Pọm", "method": "paper", "given_at": "2099-01-01"},
    )
    await ask(
        "plan on a tablet",
        422,
        "PATCH",
        f"{API}/devices/{in_stock}",
        officer,
        json={"msisdn": "0912345678"},
    )
    await ask(
        "priority over total",
        422,
        "PUT",
        f"{API}/schools/{scene.school_a}/enrolments",
        officer,
        json={"school_year": "2025-2026", "students_total": 10, "priority_students": 20},
    )
    await ask("foreign cursor", 422, "GET", f"{API}/students?cursor=abc", staff)
    await ask("unknown sort", 422, "GET", f"{API}/reports/coverage?sort=taste", officer)
    await ask("labels need a filter", 422, "POST", f"{API}/labels", officer, json={})
    await ask(
        "intake rows",
        422,
        "POST",
        f"{API}/donations/{scene.donation_id}/devices",
        officer,
        files={"file": ("d.csv", b"kind,serial\ntoaster,X1\n,X2\n", "text/csv")},
    )
    await ask(
        "school file without rows",
        422,
        "POST",
        f"{API}/schools/import",
        admin,
        files={"file": ("s.csv", b"code,name,commune_code\n", "text/csv")},
    )
    await ask(
        "key too long",
        400,
        "POST",
        f"{API}/students",
        staff,
        headers={"Idempotency-Key": "k" * 300},
        json={"school_id": scene.school_a, "student_code": "K", "full_name": "K", "grade": 5},
    )
    await ask("SIM window", 400, "GET", f"{API}/reports/sim-expiry?within_days=5000", officer)
    # 400: Litestar's and msgspec's own refusals
    await ask(
        "unknown field",
        400,
        "POST",
        f"{API}/students",
        staff,
        json={
            "school_id": scene.school_a,
            "student_code": "X",
            "full_name": "Y",
            "grade": 5,
            "shoe_size": 38,
        },
    )
    await ask(
        "malformed JSON",
        400,
        "POST",
        f"{API}/students",
        staff,
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    await ask("method not allowed", 405, "DELETE", f"{API}/devices", officer)
    # 401 and 429: sign-in
    await ask("no credential", 401, "GET", f"{API}/me")
    await ask("unknown token", 401, "GET", f"{API}/me", headers={"Authorization": "Bearer x"})
    wrong = {"email": "nobody@test.devicetrack.vn", "password": "not-the-password"}
    await ask("wrong password", 401, "POST", f"{API}/auth/token", json=wrong)
    for _ in range(3):
        response = await client.post(f"{API}/auth/token", json=wrong)
        assert response.status_code == 401
    await ask("too many attempts", 429, "POST", f"{API}/auth/token", json=wrong)
    return refusals


async def test_every_refusal_answers_in_vietnamese_when_asked(
    client: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    said = (await _refusals(scene, client)).said
    assert len(said) >= 30
    assert len({en["detail"] for en, _ in said.values()}) >= 30  # 30 different refusals
    for name, (en, vi) in said.items():
        for key in ("title", "detail"):
            assert vi[key] != en[key], (name, key, vi[key])
            assert VIETNAMESE.search(vi[key]), (name, key, vi[key])
        # The rest of the answer is the same in both languages: codes, fields, rows.
        assert vi.keys() == en.keys(), name
        assert [(e.get("field"), e.get("row")) for e in vi.get("errors", [])] == [
            (e.get("field"), e.get("row")) for e in en.get("errors", [])
        ], name
        for mine, theirs in zip(vi.get("errors", []), en.get("errors", []), strict=True):
            assert mine["message"] != theirs["message"], (name, mine)
            assert VIETNAMESE.search(mine["message"]), (name, mine)

    def vi(name: str) -> dict[str, Any]:
        return said[name][1]

    assert vi("no device")["title"] == "Không tìm thấy"
    assert vi("no device")["detail"] == f"Không có thiết bị {UNKNOWN_TAG}."
    assert said["no device"][0]["detail"] == f"No device {UNKNOWN_TAG}."
    assert vi("retired cannot be lost")["title"] == "Không phù hợp với trạng thái hiện tại"
    assert vi("retired cannot be lost")["detail"] == (
        "Không thể thực hiện “Báo mất” với thiết bị đang ở trạng thái Đã thanh lý."
    )
    assert said["retired cannot be lost"][0]["detail"].endswith("that is retired.")
    assert vi("retired cannot be lost")["current_status"] == "retired"  # codes stay codes
    assert vi("donor cannot receive")["detail"] == (
        "Vai trò của bạn không được thực hiện “Nhận thiết bị” với thiết bị."
    )
    assert vi("stock too short")["detail"] == (
        "Chỉ còn 0 thiết bị loại Máy tính xách tay trong kho; yêu cầu 5. Chưa phân bổ thiết bị nào."
    )
    assert said["stock too short"][0]["detail"] == (
        "Only 0 laptop devices are in stock and free; 5 asked. Nothing was allocated."
    )
    assert vi("no consent")["detail"] == (
        "Chưa có giấy đồng ý của phụ huynh học sinh này (hoặc đã bị rút lại)."
    )
    assert vi("intake rows")["detail"] == "2 dòng bị lỗi; chưa nhập gì cả."
    assert vi("wrong password")["detail"] == (
        "Email hoặc mật khẩu không đúng, hoặc tài khoản đã bị khóa."
    )
    assert vi("too many attempts")["title"] == "Quá nhiều lần thử"
    assert vi("unknown field")["errors"] == [
        {"message": "trường không xác định", "field": "shoe_size"}
    ]
    assert said["unknown field"][0]["errors"][0]["field"] == "shoe_size"
    assert vi("no route")["title"] == "Không tìm thấy"


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_message_of_a_refusal_is_one_id_with_its_values(lang: str) -> None:
    """A refusal keeps its message id and values; each reader's language is made from them
    when it is answered, not from the English."""
    refused = DomainError("No device {tag}.", tag="DT11-000001-0")
    assert refused.detail == "No device {tag}."
    assert str(refused) == "No device DT11-000001-0."
    shown = translate(refused.detail, lang)
    assert "DT11-000001-0" in shown and "{tag}" not in shown
