"""The job runner and a real SMTP server (aiosmtpd on 127.0.0.1) for the tests."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller

from devicetrack.config import Settings
from devicetrack.db.fastpool import dsn
from devicetrack.jobs.runner import work
from devicetrack.jobs.runtime import Runtime
from devicetrack.worker import build
from tests.live_server import free_port


@dataclass
class Inbox:
    """What the SMTP server received. `refuse` makes it answer DATA with that reply
    instead (e.g. "451 4.3.0 try again later"); `refused` counts those answers."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None
    refused: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            self.refused += 1
            return self.refuse
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on 127.0.0.1 and the DEVICETRACK_SMTP_URL that reaches it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}?tls=none"
    finally:
        controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a multipart message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, message
    return text.get_content(), html.get_content()


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https?://\S+{re.escape(path)}\S*", text)
    assert match, f"no link to {path} in:\n{text}"
    return match.group(0)


DUE = """SELECT count(*) FROM procrastinate_jobs
         WHERE status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())"""


async def run_jobs(settings: Settings, **overrides: Any) -> None:
    """Run the worker until the queue holds nothing due now, as `devicetrack worker` would
    (the same composition: every task and periodic job). A worker that is not to wait
    stops once it finds nothing to fetch, so a retry due at once is run by the next pass."""
    runtime = Runtime(settings=replace(settings, **overrides))
    for _ in range(20):
        await work(build(runtime), runtime, wait=False, install_signal_handlers=False, name="test")
        conn = await asyncpg.connect(dsn(runtime.url))
        try:
            if not await conn.fetchval(DUE):
                return
        finally:
            await conn.close()
    raise AssertionError("jobs were still due after 20 passes of the worker")
