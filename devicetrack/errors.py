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

from devicetrack.i18n import (
    N_,
    Message,
    choose_language,
    english,
    translate,
)
from devicetrack.middleware import ensure_request_id

log = logging.getLogger("devicetrack.errors")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://devicetrack.vn/problems/"


class FieldError(msgspec.Struct, omit_defaults=True):
    """One field's or row's problem. `message` is a message id (`N_("required")`), or a
    `Message` with its values (`Message(N_("at most {n} characters"), n=100)`); it is
    translated into the reader's language when the answer is written."""

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
    field = error.field
    if field is None or len(field) <= ECHO_CHARS:
        return error
    return FieldError(message=error.message, field=echo(field), row=error.row)


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
    """A refusal: its message id and the values of its placeholders
    (`NotFound(N_("No device {tag}."), tag=tag)`), translated into the reader's language
    when it is answered. `detail` is that message; `str(error)` its English."""

    status = 400
    kind = "bad-request"
    title = N_("Bad request")

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        extra: dict[str, Any] | None = None,
        not_listed: int = 0,
        **params: Any,
    ) -> None:
        """`not_listed`: errors counted but never made (see MAX_LISTED_ERRORS), besides
        those of `errors` past the cap."""
        self.detail = Message(message or self.title, **params)
        super().__init__(english(self.detail))
        errors = errors or []
        # Every answer (API and pages) shows the first MAX_LISTED_ERRORS and the count of
        # the rest.
        self.errors_not_listed = max(0, len(errors) - MAX_LISTED_ERRORS) + not_listed
        self.errors = [_bounded(e) for e in errors[:MAX_LISTED_ERRORS]]
        self.extra = extra or {}


class Unauthorized(DomainError):
    status, kind, title = 401, "unauthorized", N_("Authentication required")


class Forbidden(DomainError):
    status, kind, title = 403, "forbidden", N_("Not allowed for your role")


class NotFound(DomainError):
    status, kind, title = 404, "not-found", N_("Not found")


class Conflict(DomainError):
    status, kind, title = 409, "conflict", N_("Conflict with the current state")


class ValidationFailed(DomainError):
    status, kind, title = 422, "validation", N_("The request did not pass validation")


class PayloadTooLarge(DomainError):
    status, kind, title = 413, "payload-too-large", N_("The upload is too large")


class TooManyRequests(DomainError):
    status, kind, title = 429, "too-many-requests", N_("Too many attempts")


class ServiceUnavailable(DomainError):
    status, kind, title = 503, "unavailable", N_("Service temporarily unavailable")


# Where the caller's language is kept for the answer (dependencies.provide_principal and the
# pages' sign-in put it there).
LOCALE_STATE = "locale"


def reader_language(request: Request[Any, Any, Any]) -> str:
    """The language of an API answer: `Accept-Language` when it names a language we have,
    else the signed-in caller's own language, else English (see i18n.choose_language)."""
    user_locale = request.scope.get("state", {}).get(LOCALE_STATE)
    return choose_language(request.headers.get("accept-language"), user_locale)


def localise(value: Any, lang: str) -> Any:
    """`value` with every message in it (in lists and dicts too) in `lang`: what an answer's
    extra members say to a person is translated like its detail."""
    if isinstance(value, Message):
        return translate(value, lang)
    if isinstance(value, FieldError):
        return error_body(value, lang)
    if isinstance(value, list | tuple):
        return [localise(v, lang) for v in value]
    if isinstance(value, dict):
        return {k: localise(v, lang) for k, v in value.items()}
    return value


def error_body(error: FieldError, lang: str) -> dict[str, Any]:
    """A field error as the answer lists it: its message in `lang`, held to MESSAGE_CHARS
    (a message is its own short text plus at most one value echoed from the request)."""
    body: dict[str, Any] = {"message": echo(translate(error.message, lang), MESSAGE_CHARS)}
    if error.field is not None:
        body["field"] = error.field
    if error.row is not None:
        body["row"] = error.row
    return body


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    lang: str | None = None,
) -> Response[Any]:
    """A problem+json answer. `title`, `detail` and the errors' messages are message ids
    (or Messages), written in `lang`, by default the reader's (reader_language)."""
    lang = lang or reader_language(request)
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind,
        "title": translate(title, lang),
        "status": status,
        "detail": translate(detail, lang),
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [error_body(e, lang) for e in errors]
    if extra:
        body.update(localise(extra, lang))
    body["request_id"] = ensure_request_id(request.scope)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_domain_error(
    request: Request[Any, Any, Any], exc: DomainError, lang: str | None = None
) -> Response[Any]:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if "retry_after_seconds" in exc.extra:
        headers = {"Retry-After": str(exc.extra["retry_after_seconds"])}
    extra = exc.extra
    if exc.errors_not_listed:
        extra = {**extra, "errors_not_listed": exc.errors_not_listed}
    return problem_response(
        request, exc.status, exc.kind, exc.title, exc.detail, exc.errors, extra, headers, lang
    )


def _validation_errors(exc: ValidationException) -> list[FieldError]:
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else [exc.extra] if exc.extra else []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key")
            source = item.get("source")
            message = str(item.get("message", N_("invalid value")))
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
_PATTERN_WORDS: dict[str, str] = {r"\S": N_("required")}


# What a number out of its bounds is told, by the field (see `ranged`): msgspec names one
# bound only ("Expected `int` <= 12"), a reader wants the whole range.
_RANGE_WORDS: dict[str, str] = {}


def ranged(field: str, words: str) -> None:
    """The words a refusal of `field`'s number out of its bounds uses ("must be 0 to 12"),
    kept beside the limits where they are defined."""
    _RANGE_WORDS[field] = words


def worded(pattern: str, words: str) -> str:
    """`pattern` (for a msgspec.Meta) with the words a refusal uses for a value that does
    not match it ("must be 12 digits"), kept beside the rule where it is defined."""
    _PATTERN_WORDS[pattern] = words
    return pattern


def readable(message: str) -> str:
    """A validation message from msgspec in the words every door uses for it: too long is
    "at most N characters", empty or missing where a value is needed "required", a number
    past its bounds "out of range", a value off its pattern that pattern's words."""
    if isinstance(message, Message):
        return message  # already ours (a message id with its values)
    if match := _AT_MOST.fullmatch(message):
        return Message(N_("at most {n:,} characters"), n=int(match.group(1)))
    if match := _AT_LEAST.fullmatch(message):
        if match.group(1) == "1":
            return N_("required")
        return Message(N_("at least {n:,} characters"), n=int(match.group(1)))
    if message.startswith("Object missing required field `"):
        return N_("required")
    if _BOUND.fullmatch(message):
        return N_("out of range")
    if (match := _PATTERN.fullmatch(message)) and match.group(1) in _PATTERN_WORDS:
        return _PATTERN_WORDS[match.group(1)]
    return foreign(message)


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
    said = readable(message)
    if field in _RANGE_WORDS and _BOUND.fullmatch(message):
        said = _RANGE_WORDS[field]
    return FieldError(message=said, field=field, row=row)


def msgspec_path(message: str) -> str | None:
    """The offending path msgspec puts in its message ("… - at `$.grade`" → "grade")."""
    if "at `$." not in message:
        return None
    return message.rsplit("at `$.", 1)[1].rstrip("`")


def _number_after(text: str, marker: str) -> int | None:
    tail = text.split(marker, 1)[1].split(" ", 1)[0].rstrip("`,")
    return int(tail) if tail.isdigit() else None


def msgspec_message(text: str) -> str:
    """A message of msgspec's (or Litestar's) about one value, as one of ours: msgspec
    writes English only, so a reader of another language gets the kind of problem in their
    own (the field it names is kept apart, in `field`)."""
    text = text.split(" - at `", 1)[0]
    if "unknown field `" in text:
        return N_("unknown field")
    if "missing required field `" in text or text == "'data'":
        return N_("required")
    if "of length <= " in text and (n := _number_after(text, "of length <= ")) is not None:
        if text.startswith("Expected `str`"):
            return Message(N_("at most {n:,} characters"), n=n)
        return Message(N_("at most {n:,} items"), n=n)
    if "of length >= " in text and (n := _number_after(text, "of length >= ")) is not None:
        if text.startswith("Expected `str`"):
            return Message(N_("at least {n:,} characters"), n=n)
        return Message(N_("at least {n:,} items"), n=n)
    if text.startswith("Invalid enum value"):
        return N_("not one of the choices")
    if text.startswith(("Expected `int` >", "Expected `int` <", "Expected `float` ")):
        return N_("out of range")
    if "date" in text.lower() or "time" in text.lower():
        return N_("not a valid date or time")
    if text.startswith("Expected `"):
        return N_("a value of the wrong type")
    return N_("invalid value")


def foreign(text: str, instead: str | None = None) -> Message:
    """A text of msgspec's or Litestar's (English only): as it is for an English reader,
    `instead` in another language (by default our words for the kind of problem a message
    about one value names, msgspec_message)."""
    message = Message(text)
    message.instead = msgspec_message(text) if instead is None else instead
    return message


def litestar_message(detail: str) -> str:
    """Litestar's own English detail of a refused request, as a message of ours."""
    if detail.startswith("Validation failed for "):
        return Message(
            N_("Validation failed for {target}"),
            target=echo(detail.removeprefix("Validation failed for ")),
        )
    if detail.startswith("Missing required ") and " parameter '" in detail:
        name = detail.split(" parameter '", 1)[1].split("'", 1)[0]
        return Message(N_("The parameter {name} is required."), name=echo(name))
    return Message(N_("The request was refused: {reason}"), reason=echo(detail))


# Titles of the statuses Litestar answers itself, as HTTP names them.
STATUS_TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    406: N_("Not Acceptable"),
    409: N_("Conflict"),
    413: N_("Request Entity Too Large"),
    415: N_("Unsupported Media Type"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
    502: N_("Bad Gateway"),
    503: N_("Service Unavailable"),
    504: N_("Gateway Timeout"),
}


def handle_http_exception(
    request: Request[Any, Any, Any], exc: HTTPException, lang: str | None = None
) -> Response[Any]:
    status = exc.status_code
    lang = lang or reader_language(request)
    # Litestar's and msgspec's texts are English: kept as they are for an English reader,
    # said in our own words in another language (foreign).
    if isinstance(exc, ValidationException):
        errors = _validation_errors(exc)
        said_detail = exc.detail or N_("Validation failed")
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
                    err.message = N_("a JSON body is required")
            err.message = readable(err.message)
        return problem_response(
            request,
            400,
            "validation",
            N_("The request body or parameters are invalid"),
            foreign(said_detail, litestar_message(said_detail)),
            errors,
            lang=lang,
        )
    if status == 400 and any(
        text in (exc.detail or "") for text in ("JSON is malformed", "Input data was truncated")
    ):
        return problem_response(
            request,
            400,
            "malformed-json",
            N_("The body is not valid JSON"),
            foreign(exc.detail, N_("The body is not valid JSON.")),
            lang=lang,
        )
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    title = STATUS_TITLES.get(status, phrase)
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
    detail: str = title
    if exc.detail and exc.detail != phrase:
        detail = foreign(exc.detail, litestar_message(exc.detail))
    if status >= 500:
        log.error("HTTP %s on %s: %s", status, request.url.path, exc.detail, exc_info=exc)
        detail = title
    return problem_response(
        request,
        status,
        kinds.get(status, f"http-{status}"),
        title,
        detail,
        headers=headers,
        lang=lang,
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
        if sqlstate == "23505":
            # A unique value another request wrote first (two imports of one email at
            # once): the services check before writing, so only a race gets here.
            return "retry"
        if sqlstate in ("23503", "23514"):
            # A reference to a row that is not there, or a CHECK a value breaks: a value of
            # the request's, refused by the database where no service check caught it.
            return "data"
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


# The largest whole number the id and count columns hold (PostgreSQL `integer`).
INTEGER_MAX = 2**31 - 1


def _huge(request: Request[Any, Any, Any]) -> list[str]:
    """The whole-number parameters (path or query) of this route whose value no `integer`
    column holds: an id typed with extra digits is a valid Python int, and the database's
    out-of-range refusal is named for the caller by them. Text parameters are not named,
    however many digits they hold (an IMEI in `q`)."""
    handler = request.scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    if signature is None:
        return []
    whole = {
        name
        for name, field in signature.parameters.items()
        if field.is_subclass_of(int) or field.has_inner_subclass_of(int)
    }
    given = [*request.path_params.items(), *request.query_params.multi_items()]
    named = set()
    for name, value in given:
        text = str(value).strip().lstrip("+-")
        # A number past 20 digits is past any column: only its length need be read.
        if name in whole and text.isdigit() and (len(text) > 19 or int(text) > INTEGER_MAX):
            named.add(name)
    return sorted(named)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request_id = ensure_request_id(request.scope)
    if isinstance(exc, RecursionError):
        # A body nested too deeply for the decoder that slipped past the depth guard
        # (common/json_depth.py), e.g. JSON sent as another content type: the client's fault.
        return problem_response(
            request,
            400,
            "too-deep",
            N_("The JSON body is nested too deeply"),
            N_("The body nests arrays or objects too deeply to be read."),
        )
    kind = database_error_kind(exc)
    if kind == "data":
        return problem_response(
            request,
            422,
            "out-of-range",
            N_("A value is out of range"),
            N_("A number or text in the request is too large or too long for its field."),
            errors=[FieldError(field=name, message=N_("out of range")) for name in _huge(request)],
        )
    if kind == "retry":
        return problem_response(
            request,
            409,
            "retry",
            N_("Another change got in the way"),
            N_(
                "Another request changed the same records at the same moment; nothing was "
                "saved. Try again."
            ),
        )
    if kind == "timeout":
        return problem_response(
            request,
            504,
            "timeout",
            N_("The query took too long"),
            N_("The request took longer than the statement timeout; narrow it and try again."),
        )
    if isinstance(exc, PoolTimeout):
        # Every database connection of this process stayed busy for the pool's whole wait
        # (requests abandoned by their clients still hold theirs): transient, not a bug.
        log.warning("no free database connection (request %s)", request_id)
        return problem_response(
            request,
            503,
            "busy",
            N_("Service busy"),
            N_("Every database connection is in use; try again shortly."),
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
            N_("Service temporarily unavailable"),
            N_("The database is not reachable right now; try again shortly."),
            headers={"Retry-After": "5"},
        )
    log.exception("unexpected error (request %s)", request_id)
    return problem_response(
        request,
        500,
        "internal",
        N_("Internal server error"),
        Message(
            N_(
                "Something went wrong on our side. Quote request id {request_id} when reporting it."
            ),
            request_id=request_id,
        ),
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
