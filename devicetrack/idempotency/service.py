"""Idempotency-Key on the API's writes (IETF httpapi draft "The Idempotency-Key HTTP Header
Field"): the same caller sending the same key with the same request within the retention
(24 h) gets the first answer again and changes nothing.

Why nothing can be applied twice. Everything happens in the request's one transaction:

1. the transaction first takes a transaction-scoped advisory lock on (caller, key) with
   pg_try_advisory_xact_lock; if another transaction holds it, a request with this key is
   still running and this one is refused with 409 at once (two identical requests racing:
   one wins, the other gets 409, never a second run);
2. under the lock it reads the key's row: a fresh row with the same fingerprint is replayed
   (the handler never runs), one with another fingerprint answers 422;
3. otherwise the handler runs inside a savepoint, and its answer is written to the key's
   row in the same transaction, just before the one commit. The change and the answer are
   committed together or not at all: a crash before the commit loses both (a retry runs
   the request anew, correctly, since nothing happened), a crash after it leaves both.
   PostgreSQL makes a commit visible before it releases the transaction's locks, so the
   next holder of the lock always sees the row.

Which answers are kept: every answer of a request whose handler returned (its change was
committed, so its answer must be). Of a refused request (a DomainError or HTTP error the
handler raised), the savepoint is rolled back, so the refusal changed nothing, and its
answer is kept too, as the draft asks ("the result of the previously completed operation,
success or an error") -- except 401, 408, 429 and every 5xx, and any unexpected error
(a serialization failure's "try again", the database being down): those say the request
was not carried out, and keeping them would turn the one thing a retry with the same key
is for into a day of refusals. A refusal that cannot be kept only means a retry runs again,
which is safe: it changed nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import anyio.to_thread
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.handlers import HTTPRouteHandler
from litestar.response import File, Stream
from litestar.serialization import get_serializer
from litestar.types import ASGIApp, Receive, Scope, Send, TypeEncodersMap
from litestar.utils.helpers import get_enum_string_value
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.auth.secrets import hash_password, verify_password
from devicetrack.errors import (
    DomainError,
    FieldError,
    handle_domain_error,
    handle_http_exception,
)
from devicetrack.i18n import N_, Message
from devicetrack.idempotency import repository as repo
from devicetrack.idempotency.values import Kept
from devicetrack.privacy import service as privacy

log = logging.getLogger("devicetrack.idempotency")

HEADER = "idempotency-key"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_KEY_LENGTH = 255
# Set on a replayed answer, so a client can tell a replay from a first answer.
REPLAYED_HEADER = "Idempotent-Replayed"
CLAIM_STATE = "idempotency_claim"

# Signing in has no caller to keep a key for, and its answer is a bearer token: the
# header is ignored there (a repeated sign-in just issues another token).
NOT_KEYED = frozenset({"createToken"})
# (The password reset and invitation acceptance need no sign-in, so they have no caller to
# keep a key for either; the header is ignored there as on any request without a caller.)
# Answers carrying a secret shown only once (stored elsewhere only as a hash): the key is
# honoured, but the answer is not kept, and a repeat is refused rather than replayed.
SECRET_ANSWERS = frozenset({"createApiKey", "changeMyPassword", "printInvitationSheets"})
# Bodies carrying a password: their fingerprint is a slow salted hash (argon2, as the
# password itself), so a copy of this table does not make the password easier to guess.
PASSWORD_BODIES = frozenset({"createUser", "updateUser", "changeMyPassword"})
# Refusals that mean "not carried out, try again": never kept.
TRANSIENT = frozenset({401, 408, 429})
# Headers of an answer that describe that one response, not the answer.
NOT_REPLAYED = frozenset({"set-cookie", "date", "x-request-id", "content-length"})
# The two escapes of a Structured Field string (RFC 8941 3.3.3): \" and \\.
_SF_ESCAPE = re.compile(r'\\(["\\])')


class KeyInvalid(DomainError):
    status, kind, title = (
        400,
        "idempotency-key-invalid",
        N_("The Idempotency-Key header is invalid"),
    )


class KeyReused(DomainError):
    status, kind, title = (
        422,
        "idempotency-key-reused",
        N_("The Idempotency-Key was used for a different request"),
    )


class KeyInFlight(DomainError):
    status, kind, title = (
        409,
        "idempotency-key-in-flight",
        N_("A request with this Idempotency-Key is still being processed"),
    )


class AnswerNotKept(DomainError):
    status, kind, title = (
        409,
        "idempotency-answer-not-kept",
        N_("The request with this Idempotency-Key was already carried out"),
    )


@dataclass(frozen=True)
class Answer:
    kept: Kept
    status: int
    headers: list[list[str]]
    body: bytes | None
    # The students whose personal fields the body carries (privacy.students_shown).
    student_ids: tuple[int, ...] = ()


class Replay(Exception):
    """Raised before the handler runs: answer the kept answer instead."""

    def __init__(self, answer: Answer) -> None:
        super().__init__("idempotent replay")
        self.answer = answer


@dataclass
class Claim:
    user_id: int
    key: str
    operation_id: str
    digest: str  # sha256 hex of method, path, query and the body's sha256
    answer: Answer | None = None

    async def fingerprint(self) -> str:
        if self.operation_id in PASSWORD_BODIES:
            return await anyio.to_thread.run_sync(hash_password, self.digest)
        return self.digest

    async def matches(self, fingerprint: str) -> bool:
        if fingerprint.startswith("$argon2"):
            return await anyio.to_thread.run_sync(verify_password, fingerprint, self.digest)
        return hmac.compare_digest(fingerprint, self.digest)


def _key_error(message: str) -> KeyInvalid:
    return KeyInvalid(message, errors=[FieldError(field="header.Idempotency-Key", message=message)])


def requested_key(request: Request[Any, Any, Any]) -> str | None:
    """The request's Idempotency-Key, or None when it has none or the route takes none.
    The draft defines the value as a Structured Field string ("…"); a bare token is
    accepted too, as most clients send one."""
    handler = request.route_handler
    if not handler.opt.get("idempotency") or handler.operation_id in NOT_KEYED:
        return None
    values = request.headers.getall(HEADER, [])
    if not values:
        return None
    if len(values) > 1:
        raise _key_error(N_("Send one Idempotency-Key header, not several."))
    key = values[0].strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = _SF_ESCAPE.sub(r"\1", key[1:-1])
    elif "," in key:
        # Two header lines folded into one by a client or proxy ("a, b").
        raise _key_error(N_("Send one Idempotency-Key header, not several."))
    if not key:
        raise _key_error(N_("The Idempotency-Key is empty."))
    if len(key) > MAX_KEY_LENGTH:
        raise _key_error(
            Message(N_("The Idempotency-Key is longer than {max} characters."), max=MAX_KEY_LENGTH)
        )
    if not all(" " <= c <= "~" for c in key):
        raise _key_error(N_("The Idempotency-Key may hold printable ASCII characters only."))
    return key


async def claim_for(request: Request[Any, Any, Any], user_id: int, key: str) -> Claim:
    """The request's fingerprint: method, path, query and the raw body. The body is read
    here, within the route's size limit, and Litestar keeps it for the handler.

    A multipart upload is hashed as sent but for its boundary: a client builds a new,
    random one for every attempt (browsers' FormData, httpx, requests), so a retry of the
    same file would otherwise never match. The boundary cannot occur inside the parts."""
    body = await request.body()
    content_type, options = request.content_type
    if content_type == "multipart/form-data" and (boundary := options.get("boundary")):
        body = body.replace(boundary.encode("latin-1"), b"")
    material = b"\n".join(
        (
            request.method.encode(),
            request.scope["path"].encode(),
            request.scope.get("query_string", b""),
            hashlib.sha256(body).hexdigest().encode(),
        )
    )
    operation_id = request.route_handler.operation_id
    return Claim(
        user_id=user_id,
        key=key,
        operation_id=operation_id if isinstance(operation_id, str) else "",
        digest=hashlib.sha256(material).hexdigest(),
    )


async def _settle(session: AsyncSession, claim: Claim, hours: int) -> None:
    """Take the key, or answer for it: 409 while its request runs, its kept answer if it
    has one, 422 if it was used for another request."""
    if not await repo.try_lock(session, claim.user_id, claim.key):
        raise KeyInFlight(
            N_(
                "Another request with this Idempotency-Key has not finished yet; retry it "
                "later to get its answer."
            ),
            extra={"retry_after_seconds": 1},
        )
    row = await repo.find(session, claim.user_id, claim.key, hours)
    if row is None:
        return
    if not row.fresh:
        await repo.forget(session, claim.user_id, claim.key)
        return
    if not await claim.matches(row.fingerprint):
        raise KeyReused(
            N_(
                "This Idempotency-Key was already used for a different request (another "
                "method, path, query or body). Use a new key for a new request."
            ),
            errors=[
                FieldError(field="header.Idempotency-Key", message=N_("used for another request"))
            ],
        )
    if row.kept == Kept.ANSWER:
        raise Replay(Answer(row.kept, row.status, row.headers, row.body, tuple(row.student_ids)))
    if row.kept == Kept.ERASED:
        raise AnswerNotKept(
            N_(
                "The request with this Idempotency-Key was carried out (status "
                "{status}); its answer named a student whose personal data has since been "
                "erased, so it is not kept to be sent again."
            ),
            status=row.status,
        )
    if row.kept == Kept.SECRET:
        raise AnswerNotKept(
            N_(
                "The request with this Idempotency-Key was carried out (status "
                "{status}); its answer held a secret that is shown only once, so it is not "
                "kept to be sent again. List the API keys to find the one it made, and revoke "
                "it if the secret was lost."
            ),
            status=row.status,
        )
    # 'streamed': the answer was sent as it was produced and not held; such requests
    # (label sheets) change nothing, so it runs again.


def _refusal(request: Request[Any, Any, Any], exc: Exception) -> Answer | None:
    """The answer an expected refusal gets, if it is one to keep (see the module's text).
    A route may name how its refusals are answered (`opt["idempotency_refusal"]`: the
    pages' JSON routes answer in the page's language), so the kept answer is the one sent."""
    answer = request.route_handler.opt.get("idempotency_refusal")
    if isinstance(exc, DomainError):
        response = answer(request, exc) if answer else handle_domain_error(request, exc)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        response = answer(request, exc) if answer else handle_http_exception(request, exc)
    else:
        return None
    status = response.status_code or 500
    if status >= 500 or status in TRANSIENT:
        return None
    return _answer_of(response, status, str(response.media_type), kept=Kept.ANSWER)


def _answer_of(
    response: Response[Any],
    status: int,
    media_type: str,
    kept: Kept,
    encoders: TypeEncodersMap | None = None,
) -> Answer:
    """The answer to keep. `encoders`: the route's own type encoders (the app's, for the
    Structs and messages a handler returns inside a Response of its own), as Litestar
    would use to send it; the response's own are added to them."""
    headers = [
        [name.lower(), str(value)]
        for name, value in response.headers.items()
        if name.lower() not in NOT_REPLAYED and name.lower() != "content-type"
    ]
    headers.append(["content-type", media_type])
    body = None
    if kept != Kept.STREAMED:
        merged = {**(encoders or {}), **(response.response_type_encoders or {})}
        body = response.render(response.content, media_type, get_serializer(merged))
    return Answer(kept, status, headers, None if kept == Kept.SECRET else body)


@asynccontextmanager
async def keyed_transaction(
    request: Request[Any, Any, Any], session: AsyncSession, claim: Claim, hours: int
) -> AsyncIterator[None]:
    """The request's one transaction, for a request with an Idempotency-Key."""
    transaction = await session.begin()
    try:
        try:
            await _settle(session, claim, hours)
        except Replay as replay:
            # A replay sends the children's data it holds again: a read, logged as one.
            if replay.answer.student_ids:
                await privacy.record_for_user(
                    session, claim.user_id, privacy.route_of(request), [*replay.answer.student_ids]
                )
                await transaction.commit()
            raise
        request.scope.setdefault("state", {})[CLAIM_STATE] = claim
        savepoint = await session.begin_nested()
        try:
            yield
        except Exception as exc:
            refusal = _refusal(request, exc)
            if refusal is not None:
                try:
                    await savepoint.rollback()
                    await _keep(session, claim, refusal, hours)
                    await transaction.commit()
                except Exception:
                    # Not kept: a retry runs again, which is safe, as this changed nothing.
                    log.warning("a refusal's answer was not kept", exc_info=True)
            raise
        if claim.answer is None:
            # Fail closed: a change must never be committed without its kept answer.
            raise RuntimeError("the answer of a request with an Idempotency-Key was not seen")
        await savepoint.commit()
        shown = tuple(privacy.students_named(session))
        await _keep(session, claim, replace(claim.answer, student_ids=shown), hours)
        await transaction.commit()
    finally:
        if transaction.is_active:
            await transaction.rollback()


async def _keep(session: AsyncSession, claim: Claim, answer: Answer, hours: int) -> None:
    await repo.keep(
        session,
        user_id=claim.user_id,
        key=claim.key,
        fingerprint=await claim.fingerprint(),
        kept=answer.kept,
        status=answer.status,
        headers=answer.headers,
        body=answer.body,
        student_ids=[*answer.student_ids],
    )
    # Expired keys are swept a few at a time by the requests that add keys (rows another
    # sweep holds are skipped, not waited for); purge_expired sweeps them all.
    await repo.purge_expired(session, hours, limit=100)


async def forget_answers_naming(session: AsyncSession, student_id: int) -> None:
    """Erasing a child's personal data drops every kept answer that carries it."""
    await repo.forget_answers_naming(session, student_id)


async def purge_expired(session: AsyncSession, hours: int = 24) -> int:
    """Delete every key older than the retention (for a nightly job); the caller commits."""
    return await repo.purge_expired(session, hours)


# ---- seeing the answer before the commit --------------------------------------------
#
# Litestar commits the request's transaction (the dependency's cleanup) after it has built
# the response and before it sends it; an after_request hook is the one place in between
# that sees the response. The hook gets no request, so the API router's middleware puts
# the request's scope in a context variable for it (a variable set by the transaction's
# dependency would not do: sibling dependencies may be resolved in child tasks).

_current_scope: ContextVar[Scope | None] = ContextVar("idempotency_scope", default=None)


def scope_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") in READ_ONLY_METHODS:
            # Reads take no key: the hot lookups pay one call, no more.
            await app(scope, receive, send)
            return
        token = _current_scope.set(scope)
        try:
            await app(scope, receive, send)
        finally:
            _current_scope.reset(token)

    return middleware


async def capture_answer(response: Response[Any]) -> Response[Any]:
    """The after_request hook of the API router: hold the answer of a keyed request for
    keyed_transaction to write before it commits. The body is rendered here once and sent
    as rendered, so a replay is byte for byte the first answer."""
    scope = _current_scope.get()
    if scope is None:
        return response
    claim: Claim | None = scope.get("state", {}).get(CLAIM_STATE)
    if claim is None or claim.answer is not None:
        return response
    handler = scope["route_handler"]
    # Keys are claimed only by the API's HTTP handlers (keyed_transaction).
    assert isinstance(handler, HTTPRouteHandler)
    status = response.status_code or handler.status_code
    media_type = get_enum_string_value(response.media_type or handler.media_type)
    if isinstance(response, Stream | File):
        claim.answer = _answer_of(response, status, media_type, kept=Kept.STREAMED)
        return response
    kept = Kept.SECRET if claim.operation_id in SECRET_ANSWERS else Kept.ANSWER
    encoders = handler.resolve_type_encoders()
    claim.answer = answer = _answer_of(response, status, media_type, kept, encoders)
    if answer.body is not None:
        response.content = answer.body
    return response


def replay_response(request: Request[Any, Any, Any], exc: Replay) -> Response[Any]:
    answer = exc.answer
    headers = {name: value for name, value in answer.headers if name != "content-type"}
    media_type = next((v for n, v in answer.headers if n == "content-type"), None)
    headers[REPLAYED_HEADER] = "true"
    # A replay is one caller's answer: no cache between may keep it.
    headers["cache-control"] = "no-store"
    return Response(
        content=answer.body or b"",
        status_code=answer.status,
        headers=headers,
        media_type=media_type,
    )
