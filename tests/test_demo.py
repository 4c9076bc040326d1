"""The demo the README's first command serves: loaded through the real services, once."""

from __future__ import annotations

import asyncio
import json

import asyncpg
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from devicetrack.cli import main
from devicetrack.config import Settings
from devicetrack.demo.loader import DEMO_PASSWORD, load_demo
from tests.job_helpers import run_jobs


async def test_the_demo_has_a_story_to_show_and_loads_once(
    database_url: str, db: asyncpg.Pool, web: AsyncTestClient
) -> None:
    assert await load_demo(database_url) is True
    counts = dict(await db.fetch("SELECT status, count(*) FROM devices GROUP BY status"))
    # 45 received at the school (35 tablets and the 10 SIMs inside the telecom's), 18 of
    # them lent (15 tablets, 3 with their SIM), 5 on the road; 5 tablets at the teacher's
    # second school, not audited yet.
    assert counts == {"in_stock": 405, "allocated": 5, "at_school": 32, "assigned": 18}
    # Two donations: a foundation's mixed batch and a telecom's connected tablets.
    kinds = {
        (r["kind"], r["kind_of_donor"]): r["n"]
        for r in await db.fetch(
            """SELECT d.kind, o.kind AS kind_of_donor, count(*) AS n FROM devices d
                 JOIN donors o ON o.id = d.donor_id GROUP BY 1, 2"""
        )
    }
    assert kinds == {
        ("tablet", "foundation"): 100,
        ("laptop", "foundation"): 40,
        ("desktop", "foundation"): 20,
        ("smartphone", "foundation"): 60,
        ("tablet", "telecom"): 120,
        ("sim", "telecom"): 120,
    }
    sims = await db.fetch(
        """SELECT s.carrier, s.plan_expires_on - current_date AS days_left, h.kind AS host
             FROM devices s LEFT JOIN devices h ON h.id = s.installed_in_id
            WHERE s.kind = 'sim'"""
    )
    assert all(r["host"] == "tablet" for r in sims)  # every SIM is in a tablet
    assert {r["carrier"] for r in sims} == {"viettel", "vinaphone"}
    # Free data ends over the coming weeks (a batch at a time), none already lapsed: the SIM
    # page has something to show at 7, 14 and 30 days, and more later.
    days_left = sorted(r["days_left"] for r in sims)
    assert days_left[0] >= 0 and days_left[-1] <= 95
    within = {d: sum(1 for n in days_left if n <= d) for d in (7, 14, 30)}
    assert 0 < within[7] < within[14] < within[30] < len(sims), within
    assert await db.fetchval("SELECT count(*) FROM audits WHERE closed_at IS NOT NULL") == 1
    # The closed audit of the computer room: the 15 lent tablets are at home with their
    # students, listed on loan and never as missing; two tablets were not on the shelves.
    result = await db.fetchval("SELECT result FROM audits WHERE closed_at IS NOT NULL")
    result = json.loads(result) if isinstance(result, str) else result
    lent_tags = {
        r["asset_tag"]
        for r in await db.fetch(
            "SELECT asset_tag FROM devices WHERE status = 'assigned' AND kind <> 'sim'"
        )
    }
    assert {o["asset_tag"] for o in result["on_loan"]} == lent_tags and len(lent_tags) == 15
    assert len(result["missing"]) == 2 and len(result["found"]) == 18
    assert not {m["asset_tag"] for m in result["missing"]} & lent_tags

    # A believable school: the teacher's first school lends to grades 3–8, so it teaches
    # primary and lower-secondary grades (not a kindergarten's).
    school = await db.fetchrow(
        """SELECT s.name, s.levels, array_agg(DISTINCT st.grade ORDER BY st.grade) AS grades
             FROM schools s JOIN user_schools us ON us.school_id = s.id
             JOIN users u ON u.id = us.user_id AND u.email = 'school@demo.devicetrack.vn'
             JOIN students st ON st.school_id = s.id
            GROUP BY s.id"""
    )
    assert school["grades"] == [3, 4, 5, 6, 7, 8]
    assert set(school["levels"]) == {"primary", "lower_secondary"}, school
    assert "TH&THCS" in school["name"] and "Mầm non" not in school["name"]
    # Each step of the story is done by the person whose job it is, never by the admin: the
    # foundation's donor registers its devices, the officer registers the telecom's delivery
    # and allocates, the teacher receives, lends and audits.
    by_action = {
        (r["action"], r["donor"]): r["roles"]
        for r in await db.fetch(
            """SELECT e.action, o.kind AS donor, array_agg(DISTINCT u.role) AS roles
                 FROM device_events e JOIN devices d ON d.id = e.device_id
                 JOIN donors o ON o.id = d.donor_id LEFT JOIN users u ON u.id = e.actor_id
                GROUP BY 1, 2"""
        )
    }
    assert all(None not in roles and "admin" not in roles for roles in by_action.values())
    assert by_action[("registered", "foundation")] == ["donor"], by_action
    assert by_action[("registered", "telecom")] == ["province_officer"], by_action
    assert by_action[("allocated", "foundation")] == ["province_officer"]
    assert by_action[("received", "telecom")] == ["school_staff"]
    assert by_action[("assigned", "foundation")] == ["school_staff"]
    actors = await db.fetchrow(
        """SELECT (SELECT array_agg(DISTINCT u.role) FROM donations d
                     JOIN users u ON u.id = d.created_by) AS donations,
                  (SELECT array_agg(DISTINCT u.role) FROM assignments a
                     JOIN users u ON u.id = a.assigned_by) AS loans,
                  (SELECT array_agg(DISTINCT u.role) FROM consents c
                     JOIN users u ON u.id = c.recorded_by) AS consents,
                  (SELECT array_agg(DISTINCT u.role) FROM audits a
                     JOIN users u ON u.id IN (a.started_by, a.closed_by)) AS audits"""
    )
    assert dict(actors) == {
        "donations": ["donor", "province_officer"],
        "loans": ["school_staff"],
        "consents": ["school_staff"],
        "audits": ["school_staff"],
    }
    assert await load_demo(database_url) is False  # a second start changes nothing
    assert await db.fetchval("SELECT count(*) FROM devices") == 460

    token = await sign_in(web, "school@demo.devicetrack.vn")
    home = await web.get("/", headers={"Cookie": f"dt_session={token}"})
    school = await web.get(home.headers["location"], headers={"Cookie": f"dt_session={token}"})
    assert school.status_code == 200 and "Galaxy Tab A9" in school.text
    assert "TH&amp;THCS" in school.text
    # A lent tablet's history names the teacher who lent it and the officer who sent it.
    lent = await db.fetchval(
        "SELECT d.asset_tag FROM devices d WHERE d.status = 'assigned' AND d.kind = 'tablet'"
        " ORDER BY d.id LIMIT 1"
    )
    device = await web.get(f"/devices/{lent}", headers={"Cookie": f"dt_session={token}"})
    assert "Lò Văn Thắng" in device.text and "Nguyễn Thị Hoa" in device.text
    assert "Quản trị hệ thống" not in device.text
    # The teacher's closed audit shows that tablet on loan, not missing.
    audit_id = await db.fetchval("SELECT id FROM audits WHERE closed_at IS NOT NULL")
    audit = await web.get(f"/audits/{audit_id}", headers={"Cookie": f"dt_session={token}"})
    missing = audit.text.split("data-missing-list", 1)[1].split("</ul>", 1)[0]
    on_loan = audit.text.split("data-on-loan-list", 1)[1].split("</ul>", 1)[0]
    assert lent in on_loan and lent not in missing

    # The officer's SIM page shows SIMs lapsing this week, and every SIM when asked.
    officer = {"Cookie": f"dt_session={await sign_in(web, 'province@demo.devicetrack.vn')}"}
    week = await web.get("/province/sims?days=7", headers=officer)
    assert week.status_code == 200 and "/devices/DT11-" in week.text
    assert "Không có SIM nào sắp hết hạn" not in week.text
    everything = await web.get("/province/sims?days=all", headers=officer)
    assert "120 thẻ SIM" in everything.text


DIGESTS = {
    "digests.sims_expiring": ("digest_sims", "province@demo.devicetrack.vn"),
    "digests.overdue_loans": ("digest_loans", "school@demo.devicetrack.vn"),
    "digests.audits_due": ("digest_audits", "school@demo.devicetrack.vn"),
    "digests.donor_impact": ("digest_donor", "donor@demo.devicetrack.vn"),
}


async def test_after_jobs_run_the_outbox_shows_each_digest(
    database_url: str, settings: Settings, db: asyncpg.Pool, web: AsyncTestClient
) -> None:
    """The demo has something for every digest: SIMs ending this month, three loans a week
    late, a school never audited, a donor's devices; `devicetrack jobs run` mails each to
    the outbox (no SMTP server in the demo), where the admin reads them."""
    assert await load_demo(database_url) is True
    for job in DIGESTS:
        ran = await asyncio.to_thread(
            CliRunner().invoke, main, ["jobs", "run", job], env={"DATABASE_URL": database_url}
        )
        assert ran.exit_code == 0, ran.output
        assert "digests composed" in ran.output and ": 0 digests" not in ran.output, ran.output
    await run_jobs(settings)

    sent = await db.fetch("SELECT template, to_address, transport, subject FROM mail_messages")
    assert {r["transport"] for r in sent} == {"outbox"}
    for template, to in DIGESTS.values():
        assert (template, to) in {(r["template"], r["to_address"]) for r in sent}, template
    admin = {"Cookie": f"dt_session={await sign_in(web, 'admin@demo.devicetrack.vn')}"}
    outbox = await web.get("/admin/outbox", headers=admin)
    assert outbox.status_code == 200
    for r in sent:
        assert r["to_address"] in outbox.text


async def sign_in(web: AsyncTestClient, email: str) -> str:
    web.cookies.clear()  # signed out first
    login = await web.get("/login")
    pre = login.cookies["dt_csrf"]
    signed_in = await web.post(
        "/login",
        data={"_csrf": pre, "email": email, "password": DEMO_PASSWORD},
        headers={"Cookie": f"dt_csrf={pre}"},
    )
    assert signed_in.status_code == 303
    return str(signed_in.cookies["dt_session"])
