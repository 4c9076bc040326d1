"""How code marks its messages: `N_` an id, `N_plural` a message that counts, `Message` an id
with the values of its placeholders, `Term` a stored code inside a message. Nothing here
translates (see devicetrack.i18n.translate)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(msgid: str) -> str:
    """Mark `msgid` as a message for the catalogue; the text itself is returned unchanged
    and translated where it is shown."""
    return msgid


class Message(str):
    """A message id (its English text) with the values of its placeholders, and for a
    message that counts, its plural id. It is a str (the id), so a message can stand
    wherever a text is kept (a field error, a page's notice) and be translated where it is
    shown; `str(message)` is the bare id, `translate(message, lang)` the finished text."""

    plural: str | None
    params: Mapping[str, Any]
    # For a text we did not write (a library's English): what a reader of another
    # language is shown instead (see errors.foreign).
    instead: str | None = None

    def __new__(cls, msgid: str, /, **params: Any) -> Message:
        self = super().__new__(cls, msgid)
        self.plural = getattr(msgid, "plural", None)
        self.params = {**getattr(msgid, "params", {}), **params}
        if self.plural is not None and "n" not in self.params and params:
            raise TypeError(f"a message that counts takes its count as n: {msgid!r}")
        return self

    def __repr__(self) -> str:
        return f"Message({str(self)!r}, {dict(self.params)!r})"


def N_plural(singular: str, plural: str) -> Message:
    """Mark a message that counts: its singular and plural English. Give it its count as
    `n` where it is used (`Conflict(N_plural(...), n=3)`, `Message(N_plural(...), n=3)`)."""
    message = Message(singular)
    message.plural = plural
    return message


class Term(str):
    """A stored code (a status, a kind, an action: `in_stock`, `report-lost`) as a value of
    a message. English shows it as stored, the API's own word for it ("Cannot report-lost a
    device that is retired."); another language shows its word from `terms.WORDS`
    ("… “Báo mất” … Đã thanh lý.")."""

    __slots__ = ()
