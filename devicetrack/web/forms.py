"""Reading forms and running a service call so that a refused form is shown again with its
errors while nothing it touched is kept."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

import msgspec
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.common.convert import into
from devicetrack.devices.tags import parse_tag
from devicetrack.errors import DomainError, FieldError, ValidationFailed
from devicetrack.i18n import N_, Message

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)
S = TypeVar("S", bound=msgspec.Struct)


class Form:
    """A submitted form with typed getters that collect errors instead of raising."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    @classmethod
    async def of(cls, request: Request[Any, Any, Any]) -> Form:
        data = await request.form()
        return cls({k: data.getall(k) if len(data.getall(k)) > 1 else data.get(k) for k in data})

    def into(
        self,
        kind: type[S],
        *,
        renamed: Mapping[str, str] | None = None,
        skip: Collection[str] = (),
        **fixed: Any,
    ) -> S | None:
        """The form's fields converted into `kind`, the API's body Struct, so the page
        applies the API's types and limits and refuses a value in its words (the errors
        collect in `errors`, naming the form's fields). Text is trimmed and composed (NFC);
        an emptied field is None where the Struct allows None (cleared), refused as
        "required" where the field must hold a value (a PATCH's field left out by default,
        a create's field with no default: an edit page whose name box was cleared is
        refused, not silently kept), and left out where the Struct has a default for it;
        a field the form does not have is left out (a PATCH keeps it). `fixed` adds values
        the form does not carry (an id from the path, a checkbox read with `flag`);
        `renamed` maps a form field to its Struct field ("condition" -> "condition_out");
        `skip` names fields the page reads its own way (a role's scope), which are not read
        when absent from `fixed`."""
        names = renamed or {}
        values: dict[str, Any] = {}
        emptied: list[FieldError] = []
        for info in msgspec.structs.fields(kind):
            field = next((f for f, to in names.items() if to == info.name), info.name)
            if info.name in fixed or field in skip or field not in self.values:
                continue
            raw = self.values[field]
            if _is_list(info.type):
                items = raw if isinstance(raw, list) else [raw]
                values[info.name] = [_clean(v) for v in items if isinstance(v, str) and v.strip()]
                continue
            text = _clean(raw) if isinstance(raw, str) else ""
            if text:
                values[info.name] = text
            elif _nullable(info.type):
                values[info.name] = None
            elif info.default is msgspec.UNSET:
                # An edit form's field that must hold a value, emptied: refused, not kept
                # (a create's required field is refused below, as missing).
                emptied.append(FieldError(field=field, message=N_("required")))
        item, errors = into({**values, **fixed}, kind)
        if not errors and not emptied:
            return item
        back = {to: f for f, to in names.items()}
        for error in errors:
            error.field = back.get(error.field or "", error.field)
            if error.message.startswith("Invalid enum value"):
                error.message = N_("not one of the choices")  # the page offered the choices
        self.errors += emptied + errors
        return None

    def text(
        self, name: str, *, required: bool = False, max_length: int | None = 2000
    ) -> str | None:
        """The field's text, trimmed and composed; `max_length` None leaves the limit to the
        Struct the value goes into."""
        value = self.values.get(name)
        # Stored composed (NFC): some keyboards send Vietnamese decomposed.
        text = unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else ""
        if not text:
            if required:
                self.errors.append(FieldError(field=name, message=N_("required")))
            return None
        if max_length is not None and len(text) > max_length:
            self.errors.append(
                FieldError(
                    field=name, message=Message(N_("at most {n:,} characters"), n=max_length)
                )
            )
            return None
        return text

    def choice(self, name: str, allowed: type[E], *, required: bool = False) -> E | None:
        """One of a value list (a domain's StrEnum), as its member."""
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return allowed(value)
        except ValueError:
            self.errors.append(FieldError(field=name, message=N_("not one of the choices")))
            return None

    def integer(
        self, name: str, *, required: bool = False, low: int = 0, high: int = 10**9
    ) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self.errors.append(FieldError(field=name, message=N_("a whole number")))
            return None
        if not low <= number <= high:
            self.errors.append(
                FieldError(
                    field=name, message=Message(N_("between {low} and {high}"), low=low, high=high)
                )
            )
            return None
        return number

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.errors.append(FieldError(field=name, message=N_("a date")))
            return None

    def flag(self, name: str) -> bool:
        return self.values.get(name) in ("1", "on", "true", "yes")

    def many(self, name: str) -> list[str]:
        value = self.values.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        return [v for v in items if isinstance(v, str) and v]

    def file(self, name: str) -> tuple[bytes, str | None] | None:
        upload = self.values.get(name)
        if upload is None or isinstance(upload, str):
            self.errors.append(FieldError(field=name, message=N_("choose a file")))
            return None
        return upload.file.read(), upload.filename

    def refusal(
        self, detail: str = N_("Some fields need another look.")
    ) -> ValidationFailed | None:
        """The form's errors as the refusal a page shows, or None when there are none."""
        return ValidationFailed(detail, errors=self.errors) if self.errors else None

    def check(self) -> None:
        if (refused := self.refusal()) is not None:
            raise refused


def codes_in(text: str | None) -> list[str]:
    """Codes typed into one box, separated by commas, semicolons, spaces or lines."""
    return [c for c in re.split(r"[\s,;]+", text or "") if c]


def _clean(text: str) -> str:
    # Stored composed (NFC): some keyboards send Vietnamese decomposed.
    return unicodedata.normalize("NFC", text.strip())


@cache
def _nullable(kind: Any) -> bool:
    """Whether a field of this type may be None (cleared)."""
    return _takes(kind, None)


@cache
def _is_list(kind: Any) -> bool:
    """Whether a field of this type holds a list (checkboxes, a multiple select)."""
    return _takes(kind, [])


def _takes(kind: Any, value: object) -> bool:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return False
    return True


def scanned_codes(text: str | None) -> list[str]:
    """Tags pasted or scanned into a box: one per line (or separated by commas or spaces).
    A line that reads as one tag once its spaces are gone is one tag ("dt11 000174 8")."""
    codes: list[str] = []
    for line in re.split(r"[\n,;]+", text or ""):
        line = line.strip()
        if not line:
            continue
        joined = re.sub(r"\s+", "", line)
        codes += [joined] if parse_tag(joined) is not None else line.split()
    return codes


async def attempt(tx: AsyncSession, call: Callable[[], Awaitable[T]]) -> T | DomainError:
    """Run `call` inside a savepoint: on a domain error everything it wrote is rolled back
    and the error is returned for the page to show; the request's transaction goes on."""
    try:
        async with tx.begin_nested():
            return await call()
    except DomainError as exc:
        return exc
