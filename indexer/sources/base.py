from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.errors import RagbotError
from bot.models import Document

__all__ = ["Listing", "SourceError", "content_hash"]


class SourceError(RagbotError):
    """The source as a whole could not be listed; nothing may be deleted on this run."""


@dataclass
class Listing:
    """Everything a source holds right now.

    ``present`` also names documents that exist but could not be read this time
    (their old version stays in the index); only ids absent from it are deleted.
    """

    documents: list[Document] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def content_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
