"""``type = "confluence"``: pages of Confluence Cloud or Data Center spaces, or a CQL filter."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from bot.config import SET_NAME
from indexer.sources.api.config import ConnectorSource, http_url

__all__ = ["ConfluenceSource"]


class ConfluenceSource(ConnectorSource):
    """Credentials come from the environment: ``email_env`` + ``token_env`` (Cloud: an Atlassian
    account's email and API token) or ``pat_env`` (Data Center: a personal access token)."""

    type: Literal["confluence"]
    base_url: str  # Cloud: https://acme.atlassian.net/wiki; Data Center: https://wiki.acme.example
    spaces: list[str] = []  # space keys; or
    cql: str | None = None  # a CQL filter (ANDed with `spaces` when both are given)
    space_sets: dict[str, list[Annotated[str, Field(pattern=SET_NAME)]]] = {}  # space key -> document sets
    page_size: int = Field(default=50, ge=1, le=250)
    attachments: bool = False  # also index the PDF and Word files attached to pages in `spaces`
    email_env: str = "CONFLUENCE_EMAIL"
    token_env: str = "CONFLUENCE_API_TOKEN"
    pat_env: str = "CONFLUENCE_PAT"

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value)

    @model_validator(mode="after")
    def _something_to_index(self) -> ConfluenceSource:
        if not self.spaces and not (self.cql or "").strip():
            raise ValueError('set `spaces = ["KEY", ...]` or a `cql` filter')
        return self

    def sets_for(self, space: str) -> list[str]:
        return self.space_sets.get(space, self.sets)
