"""The core's configuration: the sections the question-answering core reads.

Configuration is split by owner. This module holds what the core (``bot/``) needs: models,
store, retrieval, generation, limits, chat behaviour, access rules, the ops HTTP server, and
a plain view of each source (:class:`SourceInfo`: its name, type, document sets, schedule).
The indexer's own models (file/git/web sources, crawl, chunking, scheduler) live in
``indexer/config.py``, whose ``IndexerSettings`` extends :class:`Settings`; the chat adapters'
settings live in ``adapters/*/settings.py``. The one loader (file, then environment) is in the
composition root, ``bot/app/settings.py``; its ``AppSettings`` extends ``IndexerSettings``
with the adapters' sections. So the core never needs an indexer or adapter type, and every
part receives only the section it reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.errors import ConfigError

__all__ = [
    "Section",
    "SET_NAME",
    "Settings",
    "SourceInfo",
    "HttpConfig",
    "EmbeddingConfig",
    "StoreConfig",
    "RetrievalConfig",
    "GeneratorConfig",
    "LimitsConfig",
    "ChatConfig",
    "AccessConfig",
    "AccessRule",
    "ChannelRule",
    "EscalationConfig",
    "InsightsConfig",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_GENERATOR_MODEL",
]

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_GENERATOR_MODEL = "gemma-3-270m"

SET_NAME = r"^[A-Za-z0-9_.-]+$"  # a document set's name (access rules, sources' `sets`)


class Section(BaseModel):
    """A configuration table: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class SourceInfo(Section):
    """What the core knows of a source: enough to name it, say who may read it, and report on it.

    The indexer's source models (``indexer/config.py``) extend this with how to read them."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    type: str = "files"
    sets: list[Annotated[str, Field(pattern=SET_NAME)]] = Field(default=["public"], min_length=1)
    schedule: str | None = None  # cron: "minute hour day month weekday" (or @hourly, @daily, ...)


class HttpConfig(Section):
    """The HTTP server of `ragbot serve` and `ragbot scheduler`: /healthz, /readyz, /metrics, /slack/events."""

    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)  # 0: no HTTP server (Socket Mode / Discord only)


class EmbeddingConfig(Section):
    model: str = DEFAULT_EMBEDDING_MODEL
    # Texts per forward pass; default: 8 on the CPU (fp32), 4 for int8, 32 on a GPU; the fastest
    # in bench/embed_throughput.py --batch-sweep.
    batch_size: int | None = Field(default=None, ge=1, le=1024)
    max_length: int = Field(default=256, ge=16, le=8192)
    device: str = "cpu"
    threads: int | None = Field(default=None, ge=1)
    # "auto": int8 on the CPU when ONNX Runtime is installed (fused graph, int8 weights: over 4x
    # sentence-transformers fp32 at the same hit@5), else fp32; an existing index keeps the precision
    # it was built with (bot/embedder_precision.py). On a GPU the torch path runs in fp16.
    precision: Literal["auto", "fp32", "int8"] = "auto"


class StoreConfig(Section):
    backend: Literal["edge", "local"] = "edge"
    url: str | None = None
    api_key: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)
    hnsw_m: int = Field(default=16, ge=4)
    hnsw_ef_construct: int = Field(default=200, ge=4)
    hnsw_ef: int = Field(default=128, ge=1)
    # Filtered searches that leave a segment fewer vectors than this many KB (40,000 KB: ~26k
    # 384-d vectors) score them all, exactly, from the payload index: HNSW under a filter on one
    # source's sets found half the true top 5 at 100k chunks (docs/benchmarks.md, "Store tail latency").
    # Applied when a collection is created.
    hnsw_full_scan_kb: int = Field(default=40_000, ge=1)
    # Threads of the embedded engine's search pool, fixed when the index is created; 0: one per
    # CPU (Edge's default). A question's search takes a few ms, and splitting it over a pool
    # made it wait on whichever thread the OS had parked (docs/benchmarks.md, "Store tail latency").
    search_threads: int = Field(default=1, ge=0)
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


class RetrievalConfig(Section):
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
    # Read chat shorthand ("prod", "PR", "pto") as the words the docs spell out before searching,
    # where the docs use the long form and not the shorthand (bot/shorthand.py); ``shorthand`` adds
    # the team's own, e.g. {"ic" = ["incident commander"]}.
    expand_shorthand: bool = True
    shorthand: dict[str, list[str]] = Field(default_factory=dict)


class GeneratorConfig(Section):
    backend: Literal["extractive", "transformers", "openai"] = "extractive"
    model: str = DEFAULT_GENERATOR_MODEL
    gguf_file: str | None = None
    max_new_tokens: int = Field(default=160, ge=1, le=4096)
    max_sentences: int = Field(default=3, ge=1, le=20)
    device: str = "cpu"
    base_url: str | None = None  # openai: the server's /v1 URL
    api_key: str | None = None  # openai: better from RAGBOT_OPENAI_API_KEY / OPENAI_API_KEY
    timeout_s: float = Field(default=60.0, gt=0)


class EscalationConfig(Section):
    """``[chat.escalation]``: where "Ask a person" hands a thread over (bot/handoff.py).

    Slack: a link to the thread is posted in ``slack_channel``, mentioning ``slack_usergroup``
    (a user group id, S...) and/or ``slack_users``. Discord: ``discord_role`` is mentioned in
    ``discord_channel``, or in the thread itself when no channel is set."""

    slack_channel: str | None = None
    slack_usergroup: str | None = Field(default=None, pattern=r"^S[A-Z0-9]+$")
    slack_users: list[Annotated[str, Field(pattern=r"^[UW][A-Z0-9]+$")]] = []
    discord_role: str | None = Field(default=None, pattern=r"^[0-9]+$")
    discord_channel: str | None = Field(default=None, pattern=r"^[0-9]+$")
    user_requests_per_minute: int = Field(default=1, ge=1)  # per user: a person is paged, not a bot


class ChatConfig(Section):
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
    escalation: EscalationConfig = EscalationConfig()


class AccessRule(Section):
    """The document sets one Slack channel, one Discord channel, or a whole Discord guild may search."""

    slack_channel: str | None = None
    discord_guild: str | None = None
    discord_channel: str | None = None
    sets: list[Annotated[str, Field(pattern=SET_NAME)]]

    @model_validator(mode="after")
    def _one_target(self) -> AccessRule:
        if bool(self.slack_channel) == bool(self.discord_guild or self.discord_channel):
            raise ValueError("a rule names either slack_channel, or discord_guild and/or discord_channel")
        return self


class ChannelRule(Section):
    """``[[channels]]``: how the bot behaves in one Slack channel, one Discord channel or forum,
    or a whole Discord guild (bot/channels.py). Behaviour only: what may be searched stays in
    ``[[access.rules]]``."""

    slack_channel: str | None = None
    discord_guild: str | None = None
    discord_channel: str | None = None
    mode: Literal["mention", "auto", "off"] = "mention"
    answer_when_unsure: bool = True  # auto mode: false says nothing (not "not in the docs") when unsure
    ephemeral: bool = False  # Slack: answers only the asker can see (chat.postEphemeral)
    answered_tag: str = "answered by bot"  # Discord forums: applied to a post the bot answered, if it exists

    @model_validator(mode="after")
    def _one_target(self) -> ChannelRule:
        if bool(self.slack_channel) == bool(self.discord_guild or self.discord_channel):
            raise ValueError("a [[channels]] entry names either slack_channel, or discord_guild and/or discord_channel")
        return self


class AccessConfig(Section):
    default: list[Annotated[str, Field(pattern=SET_NAME)]] = ["public"]  # channels without a rule
    dm: list[Annotated[str, Field(pattern=SET_NAME)]] = ["public"]  # direct messages
    rules: list[AccessRule] = []


class InsightsConfig(Section):
    """The question log, coverage gaps and their weekly digest (``bot/insights``, ``ragbot gaps``, /admin)."""

    enabled: bool = True  # false: no question is recorded (votes on answers are still kept for training)
    retention_days: int = Field(default=90, ge=1)  # older questions are pruned by the scheduler
    store_user_ids: bool = False  # false: a salted hash (enough to count distinct askers) instead of the id
    # Where the scheduler posts the weekly gaps digest: "slack:C0123ABC" or "discord:<channel id>".
    digest_channel: str | None = None
    digest_schedule: str = "0 9 * * 1"  # cron, in [scheduler] timezone: Mondays 09:00
    # Two questions join one gap when their cosine distance (average linkage) is under this;
    # chosen on samples/gaps-tune.jsonl by bench/gaps_quality.py (docs/benchmarks.md).
    cluster_distance: float = Field(default=0.75, gt=0, lt=2)

    @field_validator("digest_channel")
    @classmethod
    def _platform_and_channel(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"(slack|discord):[A-Za-z0-9]+", value.strip()):
            raise ValueError(f"{value!r}: write slack:<channel id> or discord:<channel id>, e.g. slack:C0123ABC")
        return value.strip() if value else None


class LimitsConfig(Section):
    max_question_chars: int = Field(default=4000, ge=10)
    max_file_bytes: int = Field(default=5_000_000, ge=1)  # the indexer's limit per document


class Settings(Section):
    """Everything the core reads. ``sources`` holds :class:`SourceInfo` or, when the settings were
    loaded by the composition root, the indexer's richer source models (which extend it)."""

    data_dir: Path = Path(".ragbot")
    collection: str = Field(default="ragbot", pattern=r"^[A-Za-z0-9_-]+$")
    embedding: EmbeddingConfig = EmbeddingConfig()
    store: StoreConfig = StoreConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    generator: GeneratorConfig = GeneratorConfig()
    limits: LimitsConfig = LimitsConfig()
    chat: ChatConfig = ChatConfig()
    access: AccessConfig = AccessConfig()
    http: HttpConfig = HttpConfig()
    insights: InsightsConfig = InsightsConfig()
    channels: list[ChannelRule] = []  # per-channel behaviour: mention (default), auto, off
    sources: Sequence[SourceInfo] = []

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: Sequence[SourceInfo]) -> Sequence[SourceInfo]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return sources

    def source(self, name: str) -> SourceInfo:
        """The source called ``name``; ConfigError listing the configured ones if there is none."""
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (configured: {known})")

    @property
    def server_mode(self) -> bool:
        return bool(self.store.url)
