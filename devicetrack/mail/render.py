"""Rendering a message: its subject, plain text and HTML, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from devicetrack.mail.smtp import Attachment, Letter
from devicetrack.mail.templates import TEMPLATES


class Translate(Protocol):
    """English msgid (with {placeholders}) → the reader's text; also words for codes."""

    def __call__(self, text: str, **values: Any) -> str: ...
    def word(self, value: str | None) -> str: ...


# The reader's language code ("vi", "en") → its translator. Handed in by whoever runs the
# jobs (devicetrack/worker.py): the catalogues live above the domains.
Translations = Callable[[str], Translate]

TEMPLATE_DIR = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    # Only the HTML part is escaped; the text part is plain text.
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(
    template: str,
    context: dict[str, Any],
    to: str,
    translate: Translate,
    attachments: tuple[Attachment, ...] = (),
) -> Letter:
    spec = TEMPLATES[template]
    values = {**context, "_": translate, "t": translate}
    return Letter(
        to=to,
        subject=translate(spec.subject, **{k: context[k] for k in context}),
        text=_env.get_template(f"{template}.txt").render(values),
        html=_env.get_template(f"{template}.html").render(values),
        attachments=attachments,
    )
