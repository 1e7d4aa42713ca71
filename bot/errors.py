"""Errors that reach users: each says what went wrong and what to do about it.

Callers, chat replies included, choose behaviour by type, never by message text. The whole
tree (every class is a :class:`RagbotError`, whose message is fit to show a user)::

    RagbotError                  a failure with a message fit to show a user
    ├── ConfigError              the configuration (file, environment, models) is unusable
    ├── InputError               the user's own input (question, flag) is unusable
    │   └── IndexEmpty           nothing is indexed yet: run an index first
    ├── StoreError               the vector store refused an operation
    │   ├── StoreUnavailable     the store can't be reached or opened (down, locked): try again later
    │   └── StoreMismatch        the collection was built for another embedding model
    ├── GeneratorError           the language model (local or served) failed to write an answer
    └── IndexingError            an indexing run, a source or one document could not be indexed
        ├── AlreadyRunning       the source is being indexed already (here or in another process)
        ├── RunStopped           shutdown stopped the run; the next run finishes the job
        ├── SourceError          a source as a whole could not be listed: nothing is deleted this run
        └── FetchError           one page or file could not be fetched (``transient``: may work next time)
            ├── TooLarge         its body is over the byte cap (the same next time)
            └── ForbiddenAddress its host resolves to a denied network: refused before connecting

The crawler's internal signals (``BadURL``, ``Interrupted``) never leave ``indexer/sources/web``.
"""

from __future__ import annotations

__all__ = [
    "RagbotError",
    "ConfigError",
    "InputError",
    "IndexEmpty",
    "StoreError",
    "StoreUnavailable",
    "StoreMismatch",
    "GeneratorError",
    "IndexingError",
    "AlreadyRunning",
    "RunStopped",
    "SourceError",
    "FetchError",
    "TooLarge",
    "ForbiddenAddress",
]


class RagbotError(Exception):
    """A failure with a message fit to show a user (CLI line, chat reply)."""


class ConfigError(RagbotError):
    """The configuration is unusable: a bad key or value, an unknown source, a model that won't load,
    a port that is taken. Raised at start-up or when the bad part is first used."""


class InputError(RagbotError):
    """The user's own input (question, flag) is unusable."""


class IndexEmpty(InputError):
    """The index has no collection or no chunks yet: nothing to answer from until an index run."""


class StoreError(RagbotError):
    """The vector store refused an operation."""


class StoreUnavailable(StoreError):
    """The vector store cannot be reached or opened; it may come back (serve keeps retrying)."""


class StoreMismatch(StoreError):
    """The existing collection was built for another embedding model (or vector size)."""


class GeneratorError(RagbotError):
    """The language model failed to write an answer: the LLM server is unreachable or answered an
    error, or the local model failed. Raised while answering; the next question tries again."""


class IndexingError(RagbotError):
    """An indexing run, a source or one document could not be indexed."""


class AlreadyRunning(IndexingError):
    """A run was asked for a source that is being indexed already (its lock under the data dir
    is held, by this process or another). Nothing was done; the running one records itself."""


class RunStopped(IndexingError):
    """Shutdown (SIGTERM, SIGINT) stopped a run between two documents or embedding slices; every
    document is kept in its old or new version, and the next run finishes the job."""


class SourceError(IndexingError):
    """A source as a whole could not be listed (missing folder, git failure, start URL down);
    nothing may be deleted on this run."""


class FetchError(IndexingError):
    """One page or file could not be fetched; it costs that document only. ``transient``
    failures (5xx, timeouts, a stop) may succeed next time, the others (404, refused) won't."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class TooLarge(FetchError):
    """A body, once decompressed, is over the byte cap; the same next time."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        size = f"{declared} bytes is over" if declared is not None else "over"
        super().__init__(f"{size} the limit of {limit} bytes (max_bytes)", transient=False)


class ForbiddenAddress(FetchError):
    """The crawler refused to connect: the host resolves to a link-local, cloud-metadata or
    configured ``crawl.deny_networks`` address. Raised inside the connection, before any byte is sent."""
