"""Logging for the CLI and services: text or JSON lines, a request id per question, no secrets.

Every line passes through :func:`redact` at the handler, whatever logger wrote it (ours,
slack-bolt, discord.py, httpx), so a token can't leak through a library's debug message.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime

__all__ = ["configure_logging", "new_request_id", "request_id", "redact", "SECRET_ENV_VARS"]

SECRET_ENV_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_BOT_TOKEN",
    "QDRANT_API_KEY",
    "RAGBOT_OPENAI_API_KEY",
    "OPENAI_API_KEY",
)
_SECRET_PATTERNS = re.compile(
    r"(xox[abposr]-[\w-]+|xapp-[\w-]+|(?i:bearer)\s+[\w.~+/-]+=*|(?i:bot)\s+[\w-]{20,}\.[\w-]+\.[\w-]+"
    r"|(?i:api[-_]key)[\"']?\s*[:=]\s*[\"']?[^\s\"',}]+)"
)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def new_request_id() -> str:
    """Start a request: every log line in this context (threads from asyncio.to_thread too) carries it."""
    rid = uuid.uuid4().hex[:12]
    request_id.set(rid)
    return rid


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return _SECRET_PATTERNS.sub("[redacted]", text)


def _current_secrets() -> tuple[str, ...]:
    values = (os.environ.get(name, "").strip() for name in SECRET_ENV_VARS)
    return tuple(sorted({v for v in values if len(v) >= 6}, key=len, reverse=True))


class _RedactingFormatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.as_json = as_json
        self.secrets = _current_secrets()

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = request_id.get()
        if not self.as_json:
            return redact(super().format(record), self.secrets)
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": record.request_id,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False), self.secrets)


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
