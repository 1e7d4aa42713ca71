"""Logging for the CLI and services: text or JSON lines, a request id per question, no secrets.

Every line passes through :func:`redact` at the handler, whatever logger wrote it (ours,
slack-bolt, discord.py, httpx), so a token can't leak through a library's debug message. The
same function guards every other line a person sees: CLI ``error:`` lines, chat replies and
``/readyz`` bodies.

What is masked: credentials in URLs (``http://user:pass@host`` -> ``http://***@host``), token
shapes (Slack ``xox*-``, ``Bearer``, ``api-key: ...``), and every configured secret value (the
variables in :data:`SECRET_ENV_VARS`, plus values registered with :func:`register_secrets`,
e.g. an ``api_key`` from the config file) together with any piece of 6 or more characters of
one: a proxy that echoes request headers into a truncated error body must not leak most of a key.
"""

from __future__ import annotations

import base64
import contextvars
import json
import logging
import os
import re
import sys
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "configure_logging",
    "new_request_id",
    "request_id",
    "redact",
    "mask_url",
    "register_secrets",
    "register_settings_secrets",
    "secret_values",
    "SECRET_ENV_VARS",
    "MIN_SECRET_PIECE",
]

SECRET_ENV_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_BOT_TOKEN",
    "QDRANT_API_KEY",
    "RAGBOT_OPENAI_API_KEY",
    "OPENAI_API_KEY",
    "RAGBOT_ADMIN_TOKEN",
)
MIN_SECRET_PIECE = 6  # a run this long of a secret's characters is masked wherever it appears
_MASK = "[redacted]"
_SECRET_PATTERNS = re.compile(
    r"(xox[abposr]-[\w-]+|xapp-[\w-]+|(?i:bearer)\s+[\w.~+/-]+=*|(?i:basic)\s+[\w+/]{8,}=*"
    r"|(?i:bot)\s+[\w-]{20,}\.[\w-]+\.[\w-]+"
    r"|(?i:api[-_]key)[\"']?\s*[:=]\s*[\"']?[^\s\"',}]+)"
)
# scheme://userinfo@ : everything between the scheme and the last @ before the host.
_URL_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"<>]+@")

_registered: set[str] = set()
_registered_lock = threading.Lock()

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    """Start a request: every log line in this context (threads from asyncio.to_thread too) carries it."""
    rid = uuid.uuid4().hex[:12]
    request_id.set(rid)
    return rid


def mask_url(url: str) -> str:
    """``url`` with its user and password replaced by ``***``: safe to print, still says where."""
    return _URL_USERINFO.sub(r"\1***@", url)


def register_secrets(*values: str | None) -> None:
    """Mask these values (and long pieces of them) in every line from now on.

    For secrets that don't come from :data:`SECRET_ENV_VARS`: config-file keys, URL passwords."""
    with _registered_lock:
        _registered.update(v.strip() for v in values if v and len(v.strip()) >= MIN_SECRET_PIECE)


def register_settings_secrets(settings: Settings) -> None:
    """Register the secrets a loaded configuration holds: API keys and URL credentials."""
    register_secrets(settings.store.api_key, settings.generator.api_key)
    for url in (settings.store.url, settings.generator.base_url):
        if not url:
            continue
        parts = urlsplit(url)
        if parts.password:
            user, password = unquote(parts.username or ""), unquote(parts.password)
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            register_secrets(password, parts.password, basic)  # as typed, decoded, and as a Basic header


def secret_values() -> tuple[str, ...]:
    """Every secret value known now, longest first (so a longer one is masked whole)."""
    values = {os.environ.get(name, "").strip() for name in SECRET_ENV_VARS}
    with _registered_lock:
        values |= _registered
    return tuple(sorted((v for v in values if len(v) >= MIN_SECRET_PIECE), key=len, reverse=True))


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    """``text`` fit to show anyone: URL credentials, token shapes and secret values masked.

    ``secrets`` defaults to :func:`secret_values`."""
    text = mask_url(str(text))
    for secret in secret_values() if secrets is None else secrets:
        text = _mask_pieces(text.replace(secret, _MASK), secret)
    return _SECRET_PATTERNS.sub(_MASK, text)


def _mask_pieces(text: str, secret: str) -> str:
    """Mask every run of characters that matches ``MIN_SECRET_PIECE`` or more consecutive
    characters of ``secret`` (a truncated or split copy of it)."""
    n = MIN_SECRET_PIECE
    if len(secret) < n or len(text) < n:
        return text
    pieces = {secret[i : i + n] for i in range(len(secret) - n + 1)}
    if not any(piece in text for piece in pieces):  # the usual case, checked at C speed
        return text
    covered = bytearray(len(text))
    for i in range(len(text) - n + 1):
        if text[i : i + n] in pieces:
            covered[i : i + n] = b"\x01" * n
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(_MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


class _RedactingFormatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = current = request_id.get()
        if not self.as_json:
            return redact(super().format(record))
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": current,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Redact the values before JSON-encoding them: escaping could split a secret's characters.
        return json.dumps({k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}, ensure_ascii=False)


def configure_logging(level: int, json_format: bool | None = None) -> None:
    """Root logging to stderr; JSON lines when ``json_format`` (default: RAGBOT_LOG_FORMAT=json)."""
    if json_format is None:
        json_format = os.environ.get("RAGBOT_LOG_FORMAT", "text").strip().lower() == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(json_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # library warnings (qdrant-client's, ...) pass the redactor too
