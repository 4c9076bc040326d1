"""Reading forms and running a service call so that a refused form is shown again with its
errors while nothing it touched is kept."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from devicetrack.devices.tags import parse_tag
from devicetrack.errors import DomainError, FieldError, ValidationFailed
from devicetrack.i18n import N_, Message

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


class Form:
    """A submitted form with typed getters that collect errors instead of raising."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    @classmethod
    async def of(cls, request: Request[Any, Any, Any]) -> Form:
        data = await request.form()
        return cls({k: data.getall(k) if len(data.getall(k)) > 1 else data.get(k) for k in data})

    def text(self, name: str, *, required: bool = False, max_length: int = 2000) -> str | None:
        value = self.values.get(name)
        # Stored composed (NFC): some keyboards send Vietnamese decomposed.
        text = unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else ""
        if not text:
            if required:
                self.errors.append(FieldError(field=name, message=N_("required")))
            return None
        if len(text) > max_length:
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

    def number(self, name: str, *, low: float, high: float) -> float | None:
        """A number as people type it, with a decimal point or comma ("1,5")."""
        value = self.text(name)
        if value is None:
            return None
        try:
            number = float(value.replace(",", "."))
        except ValueError:
            self.errors.append(FieldError(field=name, message=N_("a number")))
            return None
        if not low <= number <= high:
            self.errors.append(
                FieldError(
                    field=name,
                    message=Message(
                        N_("between {low} and {high}"), low=f"{low:g}", high=f"{high:g}"
                    ),
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
