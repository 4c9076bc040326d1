"""Entry point for ASGI servers: `uvicorn --factory devicetrack.asgi:app_from_env`."""

from __future__ import annotations

from litestar import Litestar

from devicetrack.app import create_app
from devicetrack.config import Settings


def app_from_env() -> Litestar:
    return create_app(Settings.from_env())
