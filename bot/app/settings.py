"""The one configuration loader: a TOML file, then environment variables on top.

Lookup order for the file: ``--config PATH``, ``$RAGBOT_CONFIG``, ``./ragbot.toml``, else
built-in defaults. Relative paths in the file are relative to the file; a relative
``RAGBOT_DATA_DIR`` is relative to the working directory. Errors name the key and, where it
can be found, the line (``ragbot.toml, line 3: retrieval.min_scroe: unknown key``).

:class:`AppSettings` is the whole configuration: the core's sections (``bot/config.py``), the
indexer's (``indexer/config.py``) and the chat adapters' (``adapters/*/settings.py``), which
come from the environment only. Each part is handed the section it reads.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapters.discord.settings import DiscordSettings
from adapters.slack.settings import SlackSettings
from bot.app.config_hints import did_you_mean, known_keys
from bot.app.insights import InsightsSettings
from bot.app.training import TrainingSettings
from bot.errors import ConfigError
from indexer.config import SOURCE_TYPES, FilesSource, GitSource, IndexerSettings
from indexer.sources.gdrive.config import GDriveSource

__all__ = ["AppSettings", "ENV_OVERRIDES", "load_settings", "find_config_file"]

# Environment variable -> the key it sets (after the file, so it wins).
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "RAGBOT_DATA_DIR": ("data_dir",),
    "RAGBOT_COLLECTION": ("collection",),
    "RAGBOT_EMBEDDING_MODEL": ("embedding", "model"),
    "RAGBOT_EMBEDDING_PRECISION": ("embedding", "precision"),
    "RAGBOT_STORE_BACKEND": ("store", "backend"),
    "QDRANT_URL": ("store", "url"),
    "QDRANT_API_KEY": ("store", "api_key"),
    "RAGBOT_SHARD_NUMBER": ("store", "shard_number"),
    "RAGBOT_REPLICATION_FACTOR": ("store", "replication_factor"),
    "RAGBOT_WRITE_CONSISTENCY_FACTOR": ("store", "write_consistency_factor"),
    "RAGBOT_QUANTIZATION": ("store", "quantization"),
    "RAGBOT_VECTORS_ON_DISK": ("store", "on_disk"),
    "RAGBOT_GENERATOR": ("generator", "backend"),
    "RAGBOT_GENERATOR_MODEL": ("generator", "model"),
    "RAGBOT_GENERATOR_URL": ("generator", "base_url"),
    "RAGBOT_OPENAI_API_KEY": ("generator", "api_key"),
    "RAGBOT_HTTP_HOST": ("http", "host"),
    "RAGBOT_HTTP_PORT": ("http", "port"),
    **{var: ("slack", key) for var, key in SlackSettings.ENV.items()},
    **{var: ("discord", key) for var, key in DiscordSettings.ENV.items()},
}
# Sections that only the environment sets (they hold tokens), and the variable that enables each.
_ENV_ONLY = {"slack": "SLACK_BOT_TOKEN", "discord": "DISCORD_BOT_TOKEN"}
_UNKNOWN_KEY = "unknown key (check the spelling against the README's configuration reference)"


class AppSettings(IndexerSettings):
    """The whole configuration. ``slack``/``discord`` are None unless their bot token is set."""

    slack: SlackSettings | None = None
    discord: DiscordSettings | None = None
    training: TrainingSettings = TrainingSettings()
    insights: InsightsSettings = InsightsSettings()  # the core's [insights], its digest cron checked


def find_config_file(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found; pass an existing file to --config")
        return path
    from_env = os.environ.get("RAGBOT_CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"config file {path} (from RAGBOT_CONFIG) not found")
        return path
    default = Path("ragbot.toml")
    return default if default.is_file() else None


def load_settings(config: str | os.PathLike[str] | None = None) -> AppSettings:
    """Read the config file (if any), apply env overrides, validate."""
    path = find_config_file(config)
    raw: dict[str, Any] = {}
    text = ""
    if path is not None:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    for section in _ENV_ONLY:  # tokens never live in files: a [slack] table is an unknown key, as ever
        if section in raw:
            table = re.compile(rf"\s*(\[\s*{section}\s*[.\]]|{section}\s*[.=])")
            line = next((i for i, text_line in enumerate(text.splitlines(), 1) if table.match(text_line)), None)
            where = f"{path}, line {line}" if line else str(path)
            raise ConfigError(f"{where}: {section}: {_UNKNOWN_KEY}")
    env_keys = _apply_env(raw)
    try:
        settings = AppSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path, text, env_keys)) from None
    _resolve_paths(settings, path.parent if path is not None else Path.cwd())
    return settings


def _resolve_paths(settings: AppSettings, base: Path) -> None:
    """Relative paths in the file are relative to the file (RAGBOT_DATA_DIR: to the working dir)."""
    if not settings.data_dir.is_absolute() and not os.environ.get("RAGBOT_DATA_DIR"):
        settings.data_dir = base / settings.data_dir
    if settings.chat.state_dir is not None and not settings.chat.state_dir.is_absolute():
        settings.chat.state_dir = base / settings.chat.state_dir
    settings.training.qa = [path if path.is_absolute() else base / path for path in settings.training.qa]
    for source in settings.sources:
        if isinstance(source, FilesSource) and not source.path.is_absolute():
            source.path = (base / source.path).resolve()
        elif isinstance(source, GitSource) and source.is_local and not Path(source.repo).is_absolute():
            source.repo = str((base / source.repo).resolve())
        elif isinstance(source, GDriveSource) and source.credentials_file and not source.credentials_file.is_absolute():
            source.credentials_file = (base / source.credentials_file).resolve()


def _apply_env(raw: dict[str, Any]) -> dict[tuple[str, ...], str]:
    """Set each key whose variable is set (and not empty); returns key -> variable."""
    applied: dict[tuple[str, ...], str] = {}
    for var, keys in ENV_OVERRIDES.items():
        value = os.environ.get(var)
        if value is None or value.strip() == "":
            continue
        target = raw
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value.strip() if keys[0] in _ENV_ONLY else value
        applied[keys] = var
    for section, enabling in _ENV_ONLY.items():  # no bot token: that platform is not configured
        if section in raw and not os.environ.get(enabling, "").strip():
            del raw[section]
    return applied


def _describe_validation_error(
    exc: ValidationError, path: Path | None, text: str, env_keys: dict[tuple[str, ...], str]
) -> str:
    errors = exc.errors()
    # An unknown key first: it is usually the cause (a misspelt `paht`) of the other errors
    # (`path` missing), and the one whose fix is obvious once named.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = first["loc"]
    suggestion = None
    if first["type"] == "extra_forbidden":
        suggestion = did_you_mean(str(loc[-1]), known_keys(AppSettings, loc))
        explained = (*loc[:-1], suggestion)  # "path is missing" is the same problem as `paht`
        errors = [e for e in errors if e is first or not (e["type"] == "missing" and e["loc"] == explained)]
    if loc[:1] == ("sources",) and len(loc) > 2 and loc[2] in SOURCE_TYPES:
        loc = loc[:2] + loc[3:]  # drop the union tag pydantic adds: sources.0.path, not sources.0.files.path
    if first["type"] == "source_type":
        loc = (*loc, "type")
    key = ".".join(str(part) for part in loc)
    variable = env_keys.get(tuple(str(part) for part in loc))
    if variable is not None:
        where = f"{variable} (environment)"
    else:
        where = str(path) if path else "configuration"
        line = _line_of(text, loc) if text else None
        if line:
            where += f", line {line}"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = f"unknown key; did you mean `{suggestion}`?" if suggestion else _UNKNOWN_KEY
    elif first["type"] == "missing":
        message = "required key is missing"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {key}: {message}{more}"


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """Best-effort line number of the key at ``loc`` in the TOML text."""
    lines = text.splitlines()
    start = 0
    keys = [part for part in loc if isinstance(part, str)]
    if loc and loc[0] == "sources" and len(loc) > 1 and isinstance(loc[1], int):
        headers = [i for i, line in enumerate(lines) if re.match(r"\s*\[\[\s*sources\s*\]\]", line)]
        if loc[1] < len(headers):
            start = headers[loc[1]]
        keys = keys[1:]
    elif len(keys) > 1:
        for i, line in enumerate(lines):
            if re.match(rf"\s*\[\s*{re.escape(keys[0])}\s*\]", line):
                start = i
                keys = keys[1:]
                break
    if not keys:
        return start + 1
    pattern = re.compile(rf"\s*{re.escape(keys[-1])}\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return start + 1 if start else None
