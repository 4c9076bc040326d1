"""The application factory: plugins, controllers, OpenAPI and problem+json errors."""

from __future__ import annotations

import logging

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from devicetrack import __version__
from devicetrack.accounts.controllers import (
    InvitationController,
    OwnAccountController,
    PasswordResetController,
    UserAdminController,
    UserImportController,
)
from devicetrack.allocations.controllers import AllocationController, SchoolStockController
from devicetrack.audits.controllers import AuditController, ConditionHistoryController
from devicetrack.audits.pdf import Words
from devicetrack.auth.controllers import (
    ApiKeyController,
    AuthController,
    MeController,
    UserController,
)
from devicetrack.common import processes, workers
from devicetrack.common.json_depth import json_depth_guard
from devicetrack.compression import compression_config
from devicetrack.config import Settings, async_url
from devicetrack.custody.controllers import (
    CollectionController,
    DeviceCustodyController,
    EvidenceController,
)
from devicetrack.db import replica
from devicetrack.db.engine import request_settings
from devicetrack.db.fastpool import lifespan_hooks
from devicetrack.db.unsent import close_unfinished
from devicetrack.dependencies import (
    provide_engine,
    provide_pool,
    provide_principal,
    provide_settings,
    provide_transaction,
)
from devicetrack.devices.controllers import DeviceController
from devicetrack.devices.scan_controller import ScanController
from devicetrack.digests.controllers import OwnDigestsController
from devicetrack.donations.controllers import DonationController, LabelBatchController
from devicetrack.donations.donor_controllers import DonorController
from devicetrack.errors import exception_handlers
from devicetrack.health import health, ready
from devicetrack.i18n import Message, english
from devicetrack.idempotency import service as idempotency
from devicetrack.imports.controllers import TemplateController
from devicetrack.labels.controllers import DeviceLabelController, LabelSheetController
from devicetrack.mail.controllers import MailController
from devicetrack.middleware import add_request_id_header, no_store
from devicetrack.paper.controllers import PaperController
from devicetrack.paper.language import Languages
from devicetrack.regions.controllers import RegionController
from devicetrack.reports.controllers import ReportController
from devicetrack.schools.controllers import SchoolController
from devicetrack.students.controllers import (
    AssignmentController,
    PrivacyController,
    SchoolLoanController,
    StudentController,
)
from devicetrack.web.api_reference import ApiReferencePlugin
from devicetrack.web.i18n import Translator
from devicetrack.web.routes import page_or_problem, web_routers
from devicetrack.webhooks.controllers import WebhookController

API_CONTROLLERS = [
    AuthController,
    MeController,
    UserController,
    ApiKeyController,
    RegionController,
    SchoolController,
    TemplateController,
    DonorController,
    DonationController,
    LabelBatchController,
    DeviceController,
    DeviceCustodyController,
    EvidenceController,
    CollectionController,
    ScanController,
    DeviceLabelController,
    LabelSheetController,
    AllocationController,
    SchoolStockController,
    StudentController,
    AssignmentController,
    SchoolLoanController,
    ReportController,
    AuditController,
    ConditionHistoryController,
    PrivacyController,
    PaperController,
    PasswordResetController,
    OwnAccountController,
    OwnDigestsController,
    InvitationController,
    UserImportController,
    UserAdminController,
    MailController,
    WebhookController,
]


def provide_vietnamese_words() -> Words:
    """Domain codes as Vietnamese words, for documents made for a Vietnamese school (the
    audit PDF); the translations belong to the web layer, which the domains do not import."""
    return Translator("vi").word


def provide_languages() -> Languages:
    """The reader's language for printed records (paper/), by code: the translations are
    the web layer's, handed down like the audit PDF's words."""
    return Translator


def create_app(settings: Settings) -> Litestar:
    if not settings.database_url:
        raise ValueError("create_app needs a database URL (the CLI starts the embedded one)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    workers.configure(settings.upload_workers)
    db_config = SQLAlchemyAsyncConfig(
        connection_string=async_url(settings.database_url),
        session_config=AsyncSessionConfig(expire_on_commit=False, autoflush=False),
        engine_config=EngineConfig(
            pool_size=settings.pool_size,
            max_overflow=settings.pool_size,
            pool_pre_ping=settings.pool_pre_ping,
            pool_timeout=10,
            echo=settings.log_sql,
            connect_args={
                "server_settings": request_settings(settings, "devicetrack"),
                "timeout": 5,
            },
        ),
        session_dependency_key="db_session",
        # Handlers ask for `db_engine` (dependencies.provide_engine: the replica's for a
        # lag-tolerant read, else this one).
        engine_dependency_key="primary_engine",
        create_all=False,
    )
    # A connection the driver left mid-statement is closed, not pooled (db/unsent.py).
    close_unfinished(db_config.get_engine())
    api = Router(
        path="/api/v1",
        route_handlers=API_CONTROLLERS,
        # Idempotency-Key on the API's writes (idempotency/service.py): the middleware and
        # the hook let the transaction see the answer before it commits.
        opt={"idempotency": True},
        middleware=[idempotency.scope_middleware],
        after_request=idempotency.capture_answer,
    )
    open_pool, close_pool = lifespan_hooks(settings)
    open_replica, close_replica = replica.lifespan_hooks(settings)
    return Litestar(
        route_handlers=[api, health, ready, *web_routers()],
        plugins=[SQLAlchemyPlugin(config=db_config)],
        dependencies={
            "tx": Provide(provide_transaction),
            "db_engine": Provide(provide_engine),
            "principal": Provide(provide_principal),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "pool": Provide(provide_pool, sync_to_thread=False),
            "vietnamese_words": Provide(provide_vietnamese_words, sync_to_thread=False),
            "languages": Provide(provide_languages, sync_to_thread=False),
        },
        on_startup=[open_pool, open_replica, workers.freeze_startup_heap],
        on_shutdown=[close_pool, close_replica, processes.shutdown],
        before_send=[add_request_id_header, no_store],
        middleware=[
            json_depth_guard(settings.max_json_depth, settings.max_body_bytes),
            # Only with a replica: read-your-writes cookies and the retry on the primary.
            *([replica.middleware] if settings.replica_url else []),
        ],
        compression_config=compression_config(settings),
        exception_handlers={
            **{k: page_or_problem(h) for k, h in exception_handlers.items()},
            idempotency.Replay: idempotency.replay_response,
        },
        request_max_body_size=settings.max_body_bytes,
        # A message kept in an answer's body as its id and values (i18n.Message) is sent in
        # English, like the rest of a successful answer; refusals are translated (errors.py).
        type_encoders={Message: english},
        state=State({"settings": settings}),
        openapi_config=OpenAPIConfig(
            title="devicetrack API",
            version=__version__,
            description=(
                "Donated devices from donor to province stock to school to student and back. "
                "Errors are RFC 9457 problem+json, their title, detail and messages in the "
                "language Accept-Language names (vi or en), else the caller's own language, "
                "else English. Authenticate with POST /api/v1/auth/token. "
                "Writes take an optional Idempotency-Key header: a retry with the same key "
                "and request within 24 h gets the first answer and changes nothing."
            ),
            path="/schema",
            # The plain reference first (served at /schema): it needs no internet.
            render_plugins=[
                ApiReferencePlugin(path=["/", "/reference"]),
                ScalarRenderPlugin(path="/scalar"),
                SwaggerRenderPlugin(path="/swagger"),
            ],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer"),
                    "ApiKey": SecurityScheme(
                        type="apiKey", name="X-API-Key", security_scheme_in="header"
                    ),
                }
            ),
            security=[{"BearerToken": []}, {"ApiKey": []}],
        ),
        debug=False,
    )
