"""``type = "notion"``: pages under ``root_pages`` (recursively) and the rows of ``databases``."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from indexer.sources.api.config import ConnectorSource, http_url, require_installed

__all__ = ["NotionSource", "notion_id"]

_HEX_ID = re.compile(r"([0-9a-f]{32})(?:[?#].*)?$", re.I)


def notion_id(value: str) -> str:
    """A page or database id from a Notion URL, a bare 32-hex id or a dashed UUID (as the API writes it)."""
    compact = value.strip().replace("-", "")
    match = _HEX_ID.search(compact)
    if match is None:
        raise ValueError(f"{value!r} is not a Notion page or database id (32 hex digits) or URL")
    hex_id = match.group(1).lower()
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


class NotionSource(ConnectorSource):
    """The integration token comes from the environment (``token_env``); share the root pages
    and databases with the integration in Notion (••• > Connections)."""

    type: Literal["notion"]
    root_pages: list[str] = []  # page ids or URLs; their child pages are indexed too
    databases: list[str] = []  # database ids or URLs; each row is a document
    token_env: str = "NOTION_TOKEN"
    requests_per_second: float = Field(default=3.0, gt=0, le=100)  # Notion's limit is 3 on average
    max_depth: int = Field(default=20, ge=0)  # child-page levels below a root page
    max_blocks: int = Field(default=10_000, ge=1)  # per page; a longer page is skipped and reported
    base_url: str = "https://api.notion.com"

    @field_validator("root_pages", "databases")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        return [notion_id(value) for value in values]

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value)

    @model_validator(mode="after")
    def _something_to_index(self) -> NotionSource:
        if not self.root_pages and not self.databases:
            raise ValueError("set `root_pages` and/or `databases` (ids or URLs shared with the integration)")
        require_installed(("notion_client",), "notion", "notion")
        return self
