"""What every API connector's ``[[sources]]`` table shares: timeouts, retries, a run deadline.

The connectors' own models (``indexer/sources/<platform>/config.py``) extend
:class:`ConnectorSource`. Credentials never appear in the file: each model names the
environment variables it reads them from.
"""

from __future__ import annotations

import importlib.util
import os
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from bot.config import SourceInfo
from bot.logs import register_secrets

__all__ = ["ConnectorSource", "env_value", "secret_env_value", "http_url", "require_installed"]


class ConnectorSource(SourceInfo):
    timeout_s: float = Field(default=30.0, gt=0)  # per request, its whole body included
    retries: int = Field(default=4, ge=0, le=10)  # on 429 (after Retry-After), 5xx and timeouts
    run_deadline_s: float = Field(default=3600.0, gt=0)  # past it, nothing is deleted
    max_bytes: int | None = Field(default=None, ge=1)  # one page or file; default: limits.max_file_bytes

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            from indexer.schedule import cron_trigger

            cron_trigger(value)  # raises ValueError with the reason
        return value


def http_url(value: str) -> str:
    """``value`` if it is an http(s) URL; ValueError (shown with the key) if not."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.rstrip("/")


def env_value(name: str) -> str:
    """An environment variable's value, blanks trimmed ('' if unset)."""
    return os.environ.get(name, "").strip()


def secret_env_value(name: str) -> str:
    """Like :func:`env_value`, for a credential: the value is masked in every log line, error and
    run record from now on. Connectors name their own variables (``token_env`` ...), so the fixed
    list in :data:`bot.logs.SECRET_ENV_VARS` can't know them."""
    value = env_value(name)
    register_secrets(value)
    return value


def require_installed(modules: tuple[str, ...], extra: str, source_type: str) -> None:
    """ValueError (a config error) if a client library of an optional extra is missing."""
    missing = [module for module in modules if importlib.util.find_spec(module) is None]
    if missing:
        raise ValueError(
            f"type {source_type!r} needs {', '.join(missing)}: install it with pip install 'ragbot[{extra}]'"
        )
