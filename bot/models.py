"""Typed records passed between pipeline stages.

Indexing: Document -> ParsedDocument -> Chunk -> store.
Answering: question -> Passage (retrieved) -> Answer with Citations.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

__all__ = [
    "Document",
    "Section",
    "ParsedDocument",
    "Chunk",
    "Passage",
    "Citation",
    "Answer",
    "point_id",
]

_POINT_NAMESPACE = uuid.UUID("8b6c0c52-3f0e-4d8e-9a57-6f1f8f6a2b10")


def point_id(doc_id: str, chunk_index: int) -> str:
    """Deterministic point id: re-indexing a document overwrites its own points."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{doc_id}#{chunk_index}"))


@dataclass(frozen=True)
class Document:
    """Raw content of one page or file, as a source lists it."""

    doc_id: str  # "<source>:<relative path>", stable across runs
    source: str
    url: str  # citation base (no fragment)
    path: str  # path or URL relative to the source, for messages
    content: bytes
    content_hash: str
    media_type: str  # "markdown" | "rst" | "html" | "text"
    sets: tuple[str, ...] = ("public",)
    etag: str = ""  # HTTP validators of a web page, for the next run's conditional GET
    last_modified: str = ""


@dataclass(frozen=True)
class Section:
    heading_path: tuple[str, ...]
    anchor: str | None
    text: str


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    sections: list[Section]


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    chunk_index: int
    source: str
    url: str  # with #anchor of the nearest heading where known
    title: str
    section: str  # heading path joined with " > "
    text: str
    content_hash: str
    sets: tuple[str, ...] = ("public",)  # document sets this chunk belongs to (access control)
    etag: str = ""  # the document's HTTP validators, kept so the store alone holds the crawl state
    last_modified: str = ""

    @property
    def point_id(self) -> str:
        return point_id(self.doc_id, self.chunk_index)

    @property
    def embedding_text(self) -> str:
        """Title and heading path give the encoder the context the text lacks."""
        heading = " > ".join(part for part in (self.title, self.section) if part)
        return f"{heading}\n{self.text}" if heading else self.text


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its similarity score."""

    doc_id: str
    chunk_index: int
    source: str
    url: str
    title: str
    section: str
    text: str
    score: float


@dataclass(frozen=True)
class Citation:
    n: int
    title: str
    url: str
    score: float
    snippet: str


@dataclass
class Answer:
    question: str
    text: str
    answered: bool
    citations: list[Citation] = field(default_factory=list)
    latency_ms: float = 0.0
    # The answer-or-refuse decision: its probability and the signals it read (ragbot eval --explain).
    decision: dict[str, float] = field(default_factory=dict)

    def cited(self) -> set[int]:
        """The source numbers the answer text actually cites."""
        return {int(n) for n in re.findall(r"\[(\d{1,3})\]", self.text)}

    def to_json(self) -> dict[str, object]:
        return {
            "answer": self.text,
            "answered": self.answered,
            "sources": [
                {"n": c.n, "title": c.title, "url": c.url, "score": round(c.score, 4), "snippet": c.snippet}
                for c in self.citations
            ],
            "latency_ms": round(self.latency_ms, 1),
        }
