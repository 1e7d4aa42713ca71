"""Configuration: a TOML file, then environment variables on top.

Lookup order for the file: ``--config PATH``, ``$RAGBOT_CONFIG``, ``./ragbot.toml``,
else built-in defaults. Relative paths in the file are relative to the file; a relative
``RAGBOT_DATA_DIR`` is relative to the working directory. Errors name the key and, where it
can be found, the line.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError

__all__ = [
    "Settings",
    "SourceConfig",
    "FilesSource",
    "GitSource",
    "WebSource",
    "CrawlConfig",
    "SchedulerConfig",
    "HttpConfig",
    "EmbeddingConfig",
    "ChunkingConfig",
    "StoreConfig",
    "RetrievalConfig",
    "GeneratorConfig",
    "LimitsConfig",
    "ChatConfig",
    "AccessConfig",
    "AccessRule",
    "load_settings",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_GENERATOR_MODEL",
]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_GENERATOR_MODEL = "gemma-3-270m"

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
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


_SET_NAME = r"^[A-Za-z0-9_.-]+$"


_DEFAULT_FILE_GLOBS = ["**/*.md", "**/*.markdown", "**/*.rst", "**/*.html", "**/*.htm", "**/*.txt"]
_DEFAULT_IGNORE = [".git/**", "**/node_modules/**", "**/.*/**", "**/_build/**"]


class _SourceBase(_Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    sets: list[Annotated[str, Field(pattern=_SET_NAME)]] = Field(default=["public"], min_length=1)
    schedule: str | None = None  # cron: "minute hour day month weekday" (or @hourly, @daily, ...)

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:
            from indexer.schedule import cron_trigger

            cron_trigger(value)  # raises ValueError with the reason
        return value


class FilesSource(_SourceBase):
    """A folder on this machine."""

    type: Literal["files"] = "files"
    path: Path
    base_url: str | None = None  # citations: base_url + relative path; else the file path
    include: list[str] = _DEFAULT_FILE_GLOBS
    ignore: list[str] = _DEFAULT_IGNORE


class GitSource(_SourceBase):
    """The files at the head of one branch of a git repository (URL or local path)."""

    type: Literal["git"]
    repo: str
    branch: str = "main"
    subdir: str = ""  # index only this folder of the repository
    url_pattern: str | None = None  # e.g. "https://git.example.com/docs/blob/{branch}/{path}"
    include: list[str] = _DEFAULT_FILE_GLOBS
    ignore: list[str] = _DEFAULT_IGNORE
    timeout_s: float = Field(default=300.0, gt=0)

    @property
    def is_local(self) -> bool:
        """``scheme://`` and ``git@host:path`` are remote; anything else is a folder here."""
        return "://" not in self.repo and not re.match(r"^[\w.-]+@[\w.-]+:", self.repo)

    @field_validator("repo")
    @classmethod
    def _safe_repo(cls, value: str) -> str:
        if value.startswith("-") or "::" in value:
            raise ValueError("must be a repository URL (https://, ssh://, git@host:path) or a local path")
        return value

    @field_validator("url_pattern")
    @classmethod
    def _known_fields(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(path="p", branch="b", commit="c")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"may only use {{path}}, {{branch}} and {{commit}} ({exc})") from None
        return value


class WebSource(_SourceBase):
    """A docs site crawled over HTTP(S) from its start pages and sitemap."""

    type: Literal["web"]
    urls: list[str] = Field(min_length=1)  # start pages; the crawl stays on their hosts
    sitemap: str | bool = True  # True: /sitemap.xml and robots.txt's Sitemap lines; False: none; or a URL
    include: list[str] = []  # URL patterns (globs on the path, or on the whole URL if they contain "://")
    exclude: list[str] = []
    max_pages: int = Field(default=5000, ge=1)
    max_depth: int = Field(default=20, ge=0)  # link hops from a start page or sitemap entry
    robots: bool = True  # honour robots.txt (intranets that disallow all crawlers may set false)
    concurrency: int = Field(default=4, ge=1, le=32)
    timeout_s: float = Field(default=15.0, gt=0)  # per request, in total (not per read)
    page_deadline_s: float = Field(default=60.0, gt=0)  # per page: its retries and redirects included
    run_deadline_s: float = Field(default=3600.0, gt=0)  # the whole crawl; past it, nothing is deleted
    retries: int = Field(default=2, ge=0, le=10)  # on 5xx, 429 and timeouts, with backoff
    max_bytes: int | None = Field(default=None, ge=1)  # after decompression; default: limits.max_file_bytes
    # Crawl traps (indexer/sources/web/traps.py): links found on pages past these are left out.
    max_pages_per_pattern: int = Field(default=500, ge=1)  # URLs per path pattern (numbers and ids blanked)
    max_query_variants: int = Field(default=100, ge=1)  # distinct query strings per path

    @field_validator("urls")
    @classmethod
    def _http_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            _require_http_url(url)
        return urls

    @field_validator("sitemap")
    @classmethod
    def _sitemap_url(cls, value: str | bool) -> str | bool:
        if isinstance(value, str):
            _require_http_url(value)
        return value


def _require_http_url(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL; only http and https are crawled")


def _source_type(value: Any) -> str:
    return value.get("type", "files") if isinstance(value, dict) else getattr(value, "type", "files")


SourceConfig = Annotated[
    Annotated[FilesSource, Tag("files")] | Annotated[GitSource, Tag("git")] | Annotated[WebSource, Tag("web")],
    Discriminator(_source_type, custom_error_type="source_type", custom_error_message="type must be files, git or web"),
]


class CrawlConfig(_Section):
    """Settings shared by every web source."""

    user_agent: str = "ragbot/0.2 (docs indexer; +https://github.com/ragbot-dev/ragbot)"
    deny_networks: list[str] = []  # CIDRs never fetched, on top of link-local and cloud metadata

    @field_validator("deny_networks")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        import ipaddress

        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a network like 10.0.0.0/8 or fd00::/8") from None
        return values


class HttpConfig(_Section):
    """The HTTP server of `ragbot serve` and `ragbot scheduler`: /healthz, /readyz, /metrics, /slack/events."""

    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)  # 0: no HTTP server (Socket Mode / Discord only)


class SchedulerConfig(_Section):
    enabled: bool = True  # run source schedules inside `ragbot serve` (`--no-scheduler` turns it off)
    timezone: str = "UTC"
    jitter_s: int = Field(default=30, ge=0)  # random delay so many sources don't start at once
    misfire_grace_time_s: int = Field(default=600, ge=1)  # a run missed by less than this still happens


class EmbeddingConfig(_Section):
    model: str = DEFAULT_EMBEDDING_MODEL
    # Texts per forward pass; default: 8 on the CPU (fp32), 4 for int8, 32 on a GPU; the fastest
    # in bench/embed_throughput.py --batch-sweep.
    batch_size: int | None = Field(default=None, ge=1, le=1024)
    max_length: int = Field(default=256, ge=16, le=8192)
    device: str = "cpu"
    threads: int | None = Field(default=None, ge=1)
    # "int8": ONNX Runtime with int8 weights on the CPU (2.2x sentence-transformers fp32; the `int8` extra).
    # On a GPU the encoder runs in fp16 whatever this says.
    precision: Literal["fp32", "int8"] = "fp32"


class ChunkingConfig(_Section):
    max_tokens: int = Field(default=256, ge=32, le=8192)
    overlap_tokens: int = Field(default=32, ge=0)

    @field_validator("overlap_tokens")
    @classmethod
    def _overlap_below_budget(cls, value: int, info: Any) -> int:
        budget = info.data.get("max_tokens", 256)
        if value >= budget // 2:
            raise ValueError(f"must be less than half of max_tokens ({budget})")
        return value


class StoreConfig(_Section):
    backend: Literal["edge", "local"] = "edge"
    url: str | None = None
    api_key: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    hnsw_m: int = Field(default=16, ge=4)
    hnsw_ef_construct: int = Field(default=200, ge=4)
    hnsw_ef: int = Field(default=128, ge=1)
    # Applied when a server collection is created (a cluster needs shards and replicas > 1):
    shard_number: int = Field(default=1, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    write_consistency_factor: int = Field(default=1, ge=1)
    on_disk: bool = False  # original vectors on disk (memory-mapped), for collections larger than RAM
    quantization: Literal["none", "int8"] = "none"  # int8 scalar quantisation: 4x less RAM for vectors

    @model_validator(mode="after")
    def _consistency_within_replicas(self) -> StoreConfig:
        if self.write_consistency_factor > self.replication_factor:
            raise ValueError("write_consistency_factor can't exceed replication_factor")
        return self


class RetrievalConfig(_Section):
    k: int = Field(default=5, ge=1, le=50)
    min_score: float = Field(default=0.36, ge=-1, le=1)
    # Fuse keyword (BM25) and dense candidates by reciprocal rank, so exact identifiers are found.
    hybrid: bool = True
    # Pass the chunks this many positions around each hit to the generator when they continue its
    # section. Off by default: on the eval sets it cost the extractive generator citation accuracy
    # and latency and did not help Gemma 270M (docs/benchmarks.md section 11); larger served models may
    # use the extra context.
    neighbours: int = Field(default=0, ge=0, le=3)
    # How keyword matches take part in ranking on hybrid collections: "weighted" reciprocal rank,
    # the keyword list voting keyword_weight as much as the dense one (chosen on the tuning sets,
    # docs/benchmarks.md); "rrf" equal votes; "identifiers" only for questions naming identifiers
    # (ERR_CONN_RESET, os.path.join); "dense" never.
    fusion: Literal["weighted", "rrf", "identifiers", "dense"] = "weighted"
    keyword_weight: float = Field(default=0.25, ge=0, le=4)
    # Answer or say "not in the docs": "learned" weighs several signals (bot/answerability.py);
    # "threshold" answers when any source's cosine reaches min_score (the behaviour before 0.2).
    answerability: Literal["learned", "threshold"] = "learned"


class GeneratorConfig(_Section):
    backend: Literal["extractive", "transformers", "openai"] = "extractive"
    model: str = DEFAULT_GENERATOR_MODEL
    gguf_file: str | None = None
    max_new_tokens: int = Field(default=160, ge=1, le=4096)
    max_sentences: int = Field(default=3, ge=1, le=20)
    device: str = "cpu"
    base_url: str | None = None  # openai: the server's /v1 URL
    api_key: str | None = None  # openai: better from RAGBOT_OPENAI_API_KEY / OPENAI_API_KEY
    timeout_s: float = Field(default=60.0, gt=0)


class ChatConfig(_Section):
    """Behaviour shared by the Slack and Discord adapters."""

    user_questions_per_minute: int = Field(default=5, ge=1)
    questions_per_minute: int = Field(default=60, ge=1)
    answer_timeout_s: float = Field(default=120.0, gt=0)
    history_messages: int = Field(default=10, ge=0, le=100)
    # Show a model-written answer while it is written (Slack chat.update, Discord edits), at most
    # one edit per stream_interval_s: Slack allows about one chat.update a second per channel,
    # Discord five edits per 5 s.
    stream: bool = True
    stream_interval_s: float = Field(default=1.0, ge=0.2, le=30)
    # Seen events, answers and votes (SQLite) when the index is embedded; default: data_dir.
    # Bot replicas on one host share it through this folder; with a Qdrant server it lives there.
    state_dir: Path | None = None


class AccessRule(_Section):
    """The document sets one Slack channel, one Discord channel, or a whole Discord guild may search."""

    slack_channel: str | None = None
    discord_guild: str | None = None
    discord_channel: str | None = None
    sets: list[Annotated[str, Field(pattern=_SET_NAME)]]

    @model_validator(mode="after")
    def _one_target(self) -> AccessRule:
        if bool(self.slack_channel) == bool(self.discord_guild or self.discord_channel):
            raise ValueError("a rule names either slack_channel, or discord_guild and/or discord_channel")
        return self


class AccessConfig(_Section):
    default: list[Annotated[str, Field(pattern=_SET_NAME)]] = ["public"]  # channels without a rule
    dm: list[Annotated[str, Field(pattern=_SET_NAME)]] = ["public"]  # direct messages
    rules: list[AccessRule] = []


class LimitsConfig(_Section):
    max_question_chars: int = Field(default=4000, ge=10)
    max_file_bytes: int = Field(default=5_000_000, ge=1)


class Settings(_Section):
    data_dir: Path = Path(".ragbot")
    collection: str = Field(default="ragbot", pattern=r"^[A-Za-z0-9_-]+$")
    embedding: EmbeddingConfig = EmbeddingConfig()
    chunking: ChunkingConfig = ChunkingConfig()
    store: StoreConfig = StoreConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    generator: GeneratorConfig = GeneratorConfig()
    limits: LimitsConfig = LimitsConfig()
    chat: ChatConfig = ChatConfig()
    access: AccessConfig = AccessConfig()
    crawl: CrawlConfig = CrawlConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    http: HttpConfig = HttpConfig()
    sources: list[SourceConfig] = []

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return sources

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (configured: {known})")

    @property
    def server_mode(self) -> bool:
        return bool(self.store.url)


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


def load_settings(config: str | os.PathLike[str] | None = None) -> Settings:
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
    _apply_env(raw)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe_validation_error(exc, path, text)) from None
    base = path.parent if path is not None else Path.cwd()
    if not settings.data_dir.is_absolute() and not os.environ.get("RAGBOT_DATA_DIR"):
        settings.data_dir = base / settings.data_dir  # like source paths: relative to the config file
    if settings.chat.state_dir is not None and not settings.chat.state_dir.is_absolute():
        settings.chat.state_dir = base / settings.chat.state_dir
    for source in settings.sources:
        if isinstance(source, FilesSource) and not source.path.is_absolute():
            source.path = (base / source.path).resolve()
        elif isinstance(source, GitSource) and source.is_local and not Path(source.repo).is_absolute():
            source.repo = str((base / source.repo).resolve())
    return settings


def _apply_env(raw: dict[str, Any]) -> None:
    for var, keys in ENV_OVERRIDES.items():
        value = os.environ.get(var)
        if value is None or value == "":
            continue
        target = raw
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value


def _describe_validation_error(exc: ValidationError, path: Path | None, text: str) -> str:
    first = exc.errors()[0]
    loc = first["loc"]
    if loc[:1] == ("sources",) and len(loc) > 2 and loc[2] in ("files", "git", "web"):
        loc = loc[:2] + loc[3:]  # drop the union tag pydantic adds: sources.0.path, not sources.0.files.path
    if first["type"] == "source_type":
        loc = (*loc, "type")
    key = ".".join(str(part) for part in loc)
    where = str(path) if path else "configuration"
    line = _line_of(text, loc) if text else None
    if line:
        where += f", line {line}"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against the README's configuration reference)"
    elif first["type"] == "missing":
        message = "required key is missing"
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
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
