"""A label's QR opens `/d/{tag}`: a signed-out phone is led through sign-in to the device
page; the sign-in's `next` only ever sends the browser to a path of this site."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from devicetrack.auth.secrets import hash_password
from devicetrack.web.navigation import safe_next
from tests.factories import DIEN_BIEN, Factory
from tests.lifecycle_helpers import make_scene
from tests.web_helpers import csrf_in


async def _sign_in(web: AsyncTestClient, email: str, password: str, next_: str) -> tuple[str, str]:
    """The login form as a phone fills it: its pre-sign-in CSRF cookie, `next` from the
    page's hidden field. (Where the browser is sent next, the session cookie.)"""
    page = await web.get("/login", params={"next": next_})
    pre = csrf_in(page.text)  # the double-submit value, also in the dt_csrf cookie
    answer = await web.post(
        "/login",
        data={"_csrf": pre, "email": email, "password": password, "next": next_},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert answer.status_code == 303, answer.text
    session = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("dt_session="))
    return answer.headers["location"], session.split(";")[0]


async def test_a_signed_out_phone_goes_from_the_qr_through_sign_in_to_the_device(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    await factory.user(
        "school_staff",
        schools=[scene.school_a],
        email="qr@test.vn",
        password_hash=hash_password("mật khẩu qr 1"),
    )
    opened = await web.get(f"/d/{tag}")  # what the camera app opens
    assert opened.status_code == 303 and opened.headers["location"] == f"/devices/{tag}"
    device_page = await web.get(opened.headers["location"])
    assert device_page.status_code == 303
    login = device_page.headers["location"]
    assert login == f"/login?next=/devices/{tag}"
    form = await web.get(login)
    assert f'name="next" value="/devices/{tag}"' in form.text
    target, cookie = await _sign_in(web, "qr@test.vn", "mật khẩu qr 1", f"/devices/{tag}")
    assert target == f"/devices/{tag}"
    shown = await web.get(target, headers={"Cookie": cookie})
    assert shown.status_code == 200 and tag in shown.text and "<svg" in shown.text


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "/\\evil.example/x",
        "/\t/evil.example",
        "/\n/evil.example",
        "/ /evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "/x\\..\\\\evil.example",
        "",
    ],
)
async def test_next_never_leaves_the_site(
    web: AsyncTestClient, factory: Factory, target: str
) -> None:
    assert safe_next(target) is None
    await factory.user("admin", email="next@test.vn", password_hash=hash_password("pw-next-12345"))
    where, _ = await _sign_in(web, "next@test.vn", "pw-next-12345", target)
    assert where == "/"


def test_next_keeps_local_paths_with_their_query() -> None:
    assert safe_next("/devices/DT11-000001-0") == "/devices/DT11-000001-0"
    assert safe_next("/schools/5?status=lost") == "/schools/5?status=lost"


async def test_the_device_opens_straight_away_when_signed_in(
    client: AsyncTestClient, web: AsyncTestClient, db: asyncpg.Pool, factory: Factory
) -> None:
    from tests.web_helpers import browser

    scene = await make_scene(client, db, factory)
    [tag] = await scene.tablets(1)
    await scene.at_school([tag])
    opened = await web.get(f"/d/{tag.lower()}", headers=browser(scene.staff_a))
    assert opened.status_code == 303
    page = await web.get(opened.headers["location"], headers=browser(scene.staff_a))
    assert page.status_code == 200 and tag in page.text
    # Staff of another school: the device is "not found", as everywhere else.
    other = await web.get(f"/devices/{tag}", headers=browser(scene.staff_b))
    assert other.status_code == 404
    assert DIEN_BIEN  # both schools are in Điện Biên: scope is by school, not province
