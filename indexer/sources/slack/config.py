"""``type = "slack"``: resolved threads from ``channels``, each one document cited by its permalink."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from indexer.sources.api.config import ConnectorSource, http_url

__all__ = ["SlackSource"]


class SlackSource(ConnectorSource):
    """The bot token comes from the environment (``token_env``); the bot must be a member of
    each channel. A private channel is indexed only when ``sets`` is written out, so that
    nobody outside it reads its threads by accident."""

    type: Literal["slack"]
    channels: list[str] = Field(min_length=1)  # channel ids: C0123ABCD (public) or G.../C... (private)
    resolved_reaction: str = "white_check_mark"  # on the question or the answer; "" to rely on experts only
    expert_groups: list[str] = []  # user group ids (S0123ABCD): a reply from a member resolves the thread
    lookback_days: int = Field(default=365, ge=1)  # how far back the first sync reads, and what is kept
    watch_days: int = Field(default=30, ge=1)  # how long a thread's replies, edits and deletion are followed
    # Channel history shows a reaction on the question but not on a reply: an open thread whose
    # question did not change is read again (for a ✅ on an answer) at most this often.
    recheck_hours: float = Field(default=24.0, ge=0)
    token_env: str = "SLACK_BOT_TOKEN"
    base_url: str = "https://slack.com/api/"

    @field_validator("channels")
    @classmethod
    def _channel_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[CGD][A-Z0-9]{6,}", value):
                raise ValueError(f"{value!r} is not a channel id (like C0123ABCD: channel details > About)")
        return values

    @field_validator("resolved_reaction")
    @classmethod
    def _reaction_name(cls, value: str) -> str:
        return value.strip().strip(":")

    @field_validator("base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value) + "/"

    @model_validator(mode="after")
    def _some_signal(self) -> SlackSource:
        if not self.resolved_reaction and not self.expert_groups:
            raise ValueError("set `resolved_reaction` and/or `expert_groups`: how a thread is marked resolved")
        return self

    @property
    def explicit_sets(self) -> bool:
        """Whether ``sets`` was written in the config (required for private channels)."""
        return "sets" in self.model_fields_set
