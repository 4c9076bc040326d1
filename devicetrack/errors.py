"""Domain errors and their RFC 9457 problem+json rendering.

Services raise DomainError subclasses; the exception handlers here turn those, Litestar's
own HTTP exceptions and anything unexpected into one problem+json shape. Nothing from an
unexpected exception (message, SQL, stack) ever reaches the client: it is logged with the
request id, which the response carries in the X-Request-ID header too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from devicetrack.middleware import ensure_request_id

log = logging.getLogger("devicetrack.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://devicetrack.vn/problems/"


class FieldError(msgspec.Struct, omit_defaults=True):
    message: str
    field: str | None = None
    row: int | None = None


# A refusal lists at most this many errors (and counts the rest), and cuts whatever it
# echoes of the request: a file of a million bad cells, or one cell of 20 MB, must not
# come back as a 55 MB answer.
MAX_LISTED_ERRORS = 1000
ECHO_CHARS = 100
# A message is its own short text plus at most one echoed value (see `echo`).
MESSAGE_CHARS = 300


def echo(value: object, limit: int = ECHO_CHARS) -> str:
    """A value from the request as a message may quote it: at most `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded(error: FieldError) -> FieldError:
    field, message = error.field, error.message
    if (field is None or len(field) <= ECHO_CHARS) and len(message) <= MESSAGE_CHARS:
        return error
    return FieldError(
        message=echo(message, MESSAGE_CHARS),
        field=None if field is None else echo(field),
        row=error.row,
    )


class RowErrors:
    """The errors of a file checked row by row, for a refusal: the first MAX_LISTED_ERRORS
    kept to be listed, the rest only counted (every row is still checked, so the answer
    says how many rows are wrong). `add` a row's errors once the row is checked."""

    __slots__ = ("listed", "not_listed", "rows_not_listed")

    def __init__(self) -> None:
        self.listed: list[FieldError] = []
        self.not_listed = 0  # errors past the cap
        self.rows_not_listed = 0  # wrong rows none of whose errors are listed

    def add(self, row_errors: list[FieldError]) -> None:
        if not row_errors:
            return
        room = MAX_LISTED_ERRORS - len(self.listed)
        if room <= 0:
            self.not_listed += len(row_errors)
            self.rows_not_listed += 1
            return
        self.listed += row_errors[:room]
        self.not_listed += max(0, len(row_errors) - room)

    def __bool__(self) -> bool:
        return bool(self.listed)

    def wrong_rows(self, more: Sequence[FieldError] = ()) -> int:
        """The rows with errors: those listed (with `more`, found later on other rows) and
        those only counted."""
        return len({e.row for e in self.listed} | {e.row for e in more}) + self.rows_not_listed


class DomainError(Exception):
    status = 400
    kind = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        not_listed: int = 0,
    ) -> None:
        """`not_listed`: errors counted but never made (see MAX_LISTED_ERRORS), besides
        those of `errors` past the cap."""
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        errors = errors or []
        # Every answer (API and pages) shows the first MAX_LISTED_ERRORS and the count of
        # the rest.
        self.errors_not_listed = max(0, len(errors) - MAX_LISTED_ERRORS) + not_listed
        self.errors = [_bounded(e) for e in errors[:MAX_LISTED_ERRORS]]
        self.extra = extra or {}


class Unauthorized(DomainError):
    status, kind, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, kind, title = 403, "forbidden", "Not allowed for your role"


class NotFound(DomainError):
    status, kind, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, kind, title = 409, "conflict", "Conflict with the current state"


class ValidationFailed(DomainError):
    status, kind, title = 422, "validation", "The request did not pass validation"


class PayloadTooLarge(DomainError):
    status, kind, title = 413, "payload-too-large", "The upload is too large"


class TooManyRequests(DomainError):
    status, kind, title = 429, "too-many-requests", "Too many attempts"


class ServiceUnavailable(DomainError):
    status, kind, title = 503, "unavailable", "Service temporarily unavailable"


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [msgspec.to_builtins(e) for e in errors]
    if extra:
        body.update(extra)
    body["request_id"] = ensure_request_id(request.scope)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if "retry_after_seconds" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after_seconds"])}
    extra = exc.extra
    if exc.errors_not_listed:
        extra = {**extra, "errors_not_listed": exc.errors_not_listed}
    return problem_response(
        request, exc.status, exc.kind, exc.title, exc.detail, exc.errors, extra, headers
    )


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else [exc.extra] if exc.extra else []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key")
            source = item.get("source")
            message = str(item.get("message", "invalid value"))
            field = key if key else None
            # Litestar gives the source as a ParamType enum ("query", "path", …).
            source = getattr(source, "value", source)
            if source and source != "body" and field:
                field = f"{source}.{field}"
            errors.append(FieldError(message=message, field=field))
        else:
            errors.append(FieldError(message=str(item)))
    return errors


# msgspec's words for a broken limit, as the pages, imports and API all say them (the pages'
# catalogue translates these): "Expected `str` of length <= 200" -> "at most 200 characters".
_AT_MOST = re.compile(r"Expected `str` of length <= (\d+)")
_AT_LEAST = re.compile(r"Expected `str` of length >= (\d+)")


_PATTERN = re.compile(r"Expected `str` matching regex '(.*)'")
_BOUND = re.compile(r"Expected `(?:int|float)` [<>]=? -?[\d.]+")
# What a value that does not match a pattern is told, by the pattern (see `worded`).
_PATTERN_WORDS: dict[str, str] = {r"\S": "required"}


def worded(pattern: str, words: str) -> str:
    """`pattern` (for a msgspec.Meta) with the words a refusal uses for a value that does
    not match it ("must be 12 digits"), kept beside the rule where it is defined."""
    _PATTERN_WORDS[pattern] = words
    return pattern


def readable(message: str) -> str:
    """A validation message from msgspec in the words every door uses for it: too long is
    "at most N characters", empty or missing where a value is needed "required", a number
    past its bounds "out of range", a value off its pattern that pattern's words."""
    if match := _AT_MOST.fullmatch(message):
        return f"at most {match.group(1)} characters"
    if match := _AT_LEAST.fullmatch(message):
        return "required" if match.group(1) == "1" else f"at least {match.group(1)} characters"
    if message.startswith("Object missing required field `"):
        return "required"
    if _BOUND.fullmatch(message):
        return "out of range"
    if match := _PATTERN.fullmatch(message):
        return _PATTERN_WORDS.get(match.group(1), message)
    return message


def field_error_of(
    exc: msgspec.ValidationError, *, row: int | None = None, field: str | None = None
) -> FieldError:
    """A FieldError from msgspec's refusal of a value: the field from the path it names
    ("… - at `$.note`", "… - at `$.priority[0]`") or from the message (a missing or
    unknown field), or `field` when the value was converted on its own."""
    message, _, path = str(exc).partition(" - at `$")
    # The path within the value: "[3].note" in a list of rows is the row's "note".
    path = re.sub(r"^\[\d+\]", "", path.rstrip("`")).lstrip(".")
    if named := re.search(r"(?:missing required|contains unknown) field `([^`]+)`", message):
        field = named.group(1)
    elif path:
        field = re.split(r"[.\[]", path, maxsplit=1)[0] or field
    return FieldError(message=readable(message), field=field, row=row)


def msgspec_path(message: str) -> str | None:
    """The offending path msgspec puts in its message ("… - at `$.grade`" → "grade")."""
    if "at `$." not in message:
        return None
    return message.rsplit("at `$.", 1)[1].rstrip("`")


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        detail = exc.detail or "Validation failed"
        # msgspec puts the offending path in the message ("… - at `$.grade`"): lift it.
        for err in errors:
            if (path := msgspec_path(err.message)) is not None:
                err.field = path
            elif "unknown field `" in err.message:
                err.field = err.message.split("unknown field `", 1)[1].split("`", 1)[0]
            elif "missing required field `" in err.message:
                missing = err.message.split("missing required field `", 1)[1].split("`", 1)[0]
                err.field = missing if err.field in (None, "data") else f"{err.field}.{missing}"
            elif err.field == "data":
                err.field = None
                if err.message == "'data'":
                    # No body at all: Litestar reports the missing handler argument.
                    err.message = "a JSON body is required"
            err.message = readable(err.message)
        return problem_response(
            request,
            400,
            "validation",
            "The request body or parameters are invalid",
            detail,
            errors,
        )
    if status == 400 and any(
        text in (exc.detail or "") for text in ("JSON is malformed", "Input data was truncated")
    ):
        return problem_response(
            request, 400, "malformed-json", "The body is not valid JSON", exc.detail
        )
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    kinds = {
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
        413: "payload-too-large",
        415: "unsupported-media-type",
        429: "too-many-requests",
    }
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    detail = exc.detail if exc.detail and exc.detail != phrase else phrase
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail)
        detail = phrase
    return problem_response(
        request, status, kinds.get(status, f"http-{status}"), phrase, detail, headers=headers
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return chain


def database_error_kind(exc: BaseException) -> str | None:
    """Classify a database error from the driver's own exception, wherever SQLAlchemy
    wrapped it: 'data' (a value out of range or too long: the client's fault), 'timeout',
    'unavailable' (connection lost, server down, disk full), or None."""
    for cause in _causes(exc):
        sqlstate = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
        if isinstance(cause, asyncpg.exceptions.DataError) or (
            isinstance(sqlstate, str) and sqlstate.startswith("22")
        ):
            return "data"
        if sqlstate == "57014" or isinstance(cause, asyncpg.exceptions.QueryCanceledError):
            return "timeout"
        if isinstance(sqlstate, str) and sqlstate.startswith("40"):
            return "retry"  # deadlock or serialization failure: nothing was changed
        if (isinstance(sqlstate, str) and sqlstate[:2] in ("08", "53", "57")) or isinstance(
            cause,
            ConnectionError
            | OSError
            | asyncpg.exceptions.ConnectionDoesNotExistError
            | asyncpg.exceptions.CannotConnectNowError
            | asyncpg.exceptions.InterfaceError,
        ):
            return "unavailable"
    return None


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request_id = ensure_request_id(request.scope)
    if isinstance(exc, RecursionError):
        # A body nested too deeply for the decoder that slipped past the depth guard
        # (common/json_depth.py), e.g. JSON sent as another content type: the client's fault.
        return problem_response(
            request,
            400,
            "too-deep",
            "The JSON body is nested too deeply",
            "The body nests arrays or objects too deeply to be read.",
        )
    kind = database_error_kind(exc)
    if kind == "data":
        return problem_response(
            request,
            422,
            "out-of-range",
            "A value is out of range",
            "A number or text in the request is too large or too long for its field.",
        )
    if kind == "retry":
        return problem_response(
            request,
            409,
            "retry",
            "Another change got in the way",
            "Another request changed the same records at the same moment; nothing was "
            "saved. Try again.",
        )
    if kind == "timeout":
        return problem_response(
            request,
            504,
            "timeout",
            "The query took too long",
            "The request took longer than the statement timeout; narrow it and try again.",
        )
    if isinstance(exc, PoolTimeout):
        # Every database connection of this process stayed busy for the pool's whole wait
        # (requests abandoned by their clients still hold theirs): transient, not a bug.
        log.warning("no free database connection (request %s)", request_id)
        return problem_response(
            request,
            503,
            "busy",
            "Service busy",
            "Every database connection is in use; try again shortly.",
            headers={"Retry-After": "5"},
        )
    if (
        kind == "unavailable"
        or isinstance(exc, OperationalError | InterfaceError | ConnectionError | OSError)
        or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
    ):
        log.warning("database unavailable (request %s): %s", request_id, type(exc).__name__)
        return problem_response(
            request,
            503,
            "unavailable",
            "Service temporarily unavailable",
            "The database is not reachable right now; try again shortly.",
            headers={"Retry-After": "5"},
        )
    log.exception("unexpected error (request %s)", request_id)
    return problem_response(
        request,
        500,
        "internal",
        "Internal server error",
        f"Something went wrong on our side. Quote request id {request_id} when reporting it.",
    )


exception_handlers: dict[Any, Any] = {
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}

__all__ = [
    "PROBLEM_JSON",
    "Conflict",
    "DomainError",
    "FieldError",
    "Forbidden",
    "MediaType",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "ValidationFailed",
    "exception_handlers",
]
