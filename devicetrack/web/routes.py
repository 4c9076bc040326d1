"""The web router: every page under one Router whose `principal` is the session cookie's
user (the API's is the bearer token's), with errors shown as pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, Router
from litestar.di import Provide

from devicetrack.errors import exception_handlers
from devicetrack.idempotency import service as idempotency
from devicetrack.web.assets import ASSET_HANDLERS
from devicetrack.web.pages_accounts import (
    AccountPages,
    InvitationPages,
    OutboxPages,
    PasswordResetPages,
)
from devicetrack.web.pages_admin import AdminPages, ApiKeyPages
from devicetrack.web.pages_admin_donors import AdminDonorPages
from devicetrack.web.pages_admin_enrolments import AdminEnrolmentPages
from devicetrack.web.pages_admin_invitations import InvitationAdminPages
from devicetrack.web.pages_admin_schools import AdminSchoolPages
from devicetrack.web.pages_admin_users import AdminUserPages
from devicetrack.web.pages_allocate import AllocationPages
from devicetrack.web.pages_audits import AuditPages, SchoolAuditPages
from devicetrack.web.pages_collect import CollectPages
from devicetrack.web.pages_common import CommonPages
from devicetrack.web.pages_digests import DigestPages
from devicetrack.web.pages_donor import DonorPages
from devicetrack.web.pages_evidence import EvidencePages
from devicetrack.web.pages_loans import LoanPages, SchoolLoanPages
from devicetrack.web.pages_offline import OfflinePages
from devicetrack.web.pages_paper import PaperPages
from devicetrack.web.pages_province import ProvincePages
from devicetrack.web.pages_province_lists import ProvinceFollowUpPages
from devicetrack.web.pages_school import SchoolPages
from devicetrack.web.pages_signin import SignInPages
from devicetrack.web.pages_student import StudentPages
from devicetrack.web.pages_students import SchoolStudentPages
from devicetrack.web.render import error_page
from devicetrack.web.session import provide_web_principal


def web_routers() -> list[Router]:
    pages = Router(
        path="/",
        # By journey: everyone's (sign-in, the scan box, a device), a school's devices and
        # receiving, its students and loans, audits, donors, the province, administration.
        route_handlers=[
            SignInPages,
            PasswordResetPages,
            InvitationPages,
            AccountPages,
            DigestPages,
            OutboxPages,
            CommonPages,
            SchoolPages,
            SchoolStudentPages,
            StudentPages,
            LoanPages,
            SchoolLoanPages,
            SchoolAuditPages,
            AuditPages,
            DonorPages,
            AllocationPages,
            ProvincePages,
            ProvinceFollowUpPages,
            AdminPages,
            AdminUserPages,
            InvitationAdminPages,
            ApiKeyPages,
            AdminSchoolPages,
            AdminEnrolmentPages,
            AdminDonorPages,
            PaperPages,
            OfflinePages,
            EvidencePages,
            CollectPages,
        ],
        dependencies={"principal": Provide(provide_web_principal)},
        # Every class the app maps to problem+json is mapped here too: Litestar picks the
        # most specific class across layers, so `Exception` alone would not win.
        exception_handlers={
            **{cls: error_page for cls in exception_handlers},
            idempotency.Replay: idempotency.replay_response,
        },
        # The routes the outbox sends to (session.KEYED) take an Idempotency-Key as the API's
        # writes do: the middleware and the hook let their transaction see the answer.
        middleware=[idempotency.scope_middleware],
        after_request=idempotency.capture_answer,
        include_in_schema=False,
    )
    # The static files, the favicon and the manifest: outside the pages (no session needed).
    assets = Router(path="/", route_handlers=ASSET_HANDLERS, include_in_schema=False)
    return [pages, assets]


API_PREFIXES = ("/api/", "/schema", "/health", "/ready", "/static/")


Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def page_or_problem(problem_handler: Handler) -> Handler:
    """For the app-level handlers (a path no route matches, a path parameter of the wrong
    type): a browser asking for a page gets the page, API clients keep problem+json."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        path = request.url.path
        if not path.startswith(API_PREFIXES) and "text/html" in request.headers.get("accept", ""):
            return error_page(request, exc)
        return problem_handler(request, exc)

    return handle
