"""Small HTTP helpers of the admin page: security headers, redirects, TLS detection, formatting,
and the training switches (``ragbot train --activate`` / ``--rollback`` for a button)."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from bot.core import RagCore
from bot.logs import redact

__all__ = ["HEADERS", "WINDOWS", "activate_model", "dumps", "redirect", "roll_back", "tls", "when", "window"]

WINDOWS = (7, 30, 90)  # days the page offers
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def activate_model(core: RagCore, name: str) -> str:
    from bot.train.deploy import activate
    from bot.train.registry import Registry

    registry = Registry(core.settings.data_dir / "models")
    activate(registry, registry.by_name(name), core.store, core.embedder)
    return name


def roll_back(core: RagCore) -> str:
    from bot.train.deploy import rollback
    from bot.train.registry import Registry

    return rollback(Registry(core.settings.data_dir / "models"), core.store, core.embedder)


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={**HEADERS, "Location": location})


def tls(request: web.Request) -> bool:
    """Served over TLS, here or at a proxy in front (the cookie must then be Secure)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def window(value: str | None) -> int:
    try:
        days = int(value or 30)
    except ValueError:
        return 30
    return days if days in WINDOWS else 30


def when(timestamp: float | str | None) -> str:
    if timestamp is None or timestamp == "":
        return "—"
    if isinstance(timestamp, str):
        return timestamp.replace("T", " ")[:16]
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(timestamp))


def dumps(value: Any) -> str:
    return redact(json.dumps(value, ensure_ascii=False))
