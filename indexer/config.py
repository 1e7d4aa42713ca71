"""The indexer's configuration: how to read each source, crawl politely, chunk, and schedule.

:class:`IndexerSettings` is the core's :class:`bot.config.Settings` plus the indexer's own
sections (``chunking``, ``crawl``, ``scheduler``) and the full source models; the source models
extend the core's :class:`bot.config.SourceInfo`, so the core can name and report on sources
without knowing how they are read. The file and environment are read once, by the composition
root (``bot/app/settings.py``).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import Discriminator, Field, Tag, field_validator

from bot.config import Section, Settings, SourceInfo
from indexer.sources.confluence.config import ConfluenceSource
from indexer.sources.gdrive.config import GDriveSource
from indexer.sources.notion.config import NotionSource
from indexer.sources.slack.config import SlackSource

__all__ = [
    "IndexerSettings",
    "SOURCE_TYPES",
    "SourceConfig",
    "FilesSource",
    "GitSource",
    "WebSource",
    "ChunkingConfig",
    "CrawlConfig",
    "SchedulerConfig",
]

_DEFAULT_FILE_GLOBS = [
    *("**/*.md", "**/*.markdown", "**/*.rst", "**/*.html", "**/*.htm", "**/*.txt"),
    *("**/*.pdf", "**/*.docx"),  # read by indexer/formats (the `docs` extra)
]
_DEFAULT_IGNORE = [".git/**", "**/node_modules/**", "**/.*/**", "**/_build/**"]


class _SourceBase(SourceInfo):
    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None:  # APScheduler is imported only for configs with schedules
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
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL; only http and https are crawled")


def _source_type(value: Any) -> str:
    return value.get("type", "files") if isinstance(value, dict) else getattr(value, "type", "files")


SOURCE_TYPES = ("files", "git", "web", "confluence", "notion", "slack", "gdrive")  # the tags of SourceConfig

SourceConfig = Annotated[
    Annotated[FilesSource, Tag("files")]
    | Annotated[GitSource, Tag("git")]
    | Annotated[WebSource, Tag("web")]
    | Annotated[ConfluenceSource, Tag("confluence")]
    | Annotated[NotionSource, Tag("notion")]
    | Annotated[SlackSource, Tag("slack")]
    | Annotated[GDriveSource, Tag("gdrive")],
    Discriminator(
        _source_type,
        custom_error_type="source_type",
        custom_error_message="type must be files, git, web, confluence, notion, slack or gdrive",
    ),
]


class ChunkingConfig(Section):
    max_tokens: int = Field(default=256, ge=32, le=8192)
    overlap_tokens: int = Field(default=32, ge=0)

    @field_validator("overlap_tokens")
    @classmethod
    def _overlap_below_budget(cls, value: int, info: Any) -> int:
        budget = info.data.get("max_tokens", 256)
        if value >= budget // 2:
            raise ValueError(f"must be less than half of max_tokens ({budget})")
        return value


class CrawlConfig(Section):
    """Settings shared by every web source."""

    user_agent: str = "ragbot/0.2 (docs indexer; +https://github.com/ragbot-dev/ragbot)"
    deny_networks: list[str] = []  # CIDRs never fetched, on top of link-local and cloud metadata

    @field_validator("deny_networks")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a network like 10.0.0.0/8 or fd00::/8") from None
        return values


class SchedulerConfig(Section):
    enabled: bool = True  # run source schedules inside `ragbot serve` (`--no-scheduler` turns it off)
    timezone: str = "UTC"
    jitter_s: int = Field(default=30, ge=0)  # random delay so many sources don't start at once
    misfire_grace_time_s: int = Field(default=600, ge=1)  # a run missed by less than this still happens


class IndexerSettings(Settings):
    """The core's settings plus what indexing needs: the full source models and their sections."""

    chunking: ChunkingConfig = ChunkingConfig()
    crawl: CrawlConfig = CrawlConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    sources: list[SourceConfig] = []  # narrows the core's Sequence[SourceInfo]

    def source(self, name: str) -> SourceConfig:
        """The source called ``name``; ConfigError listing the configured ones if there is none."""
        return cast(SourceConfig, super().source(name))
