"""Errors that reach users: each says what went wrong and what to do about it.

Callers, chat replies included, choose behaviour by type, never by message text::

    RagbotError                a failure with a message fit to show a user
    ├── ConfigError            the configuration (file, environment, models) is unusable
    ├── InputError             the user's own input (question, flag) is unusable
    │   └── IndexEmpty         nothing is indexed yet: run an index first
    └── StoreError             the vector store refused an operation
        ├── StoreUnavailable   the store can't be reached or opened (down, locked): try again later
        └── StoreMismatch      the collection was built for another embedding model
"""

__all__ = [
    "RagbotError",
    "ConfigError",
    "StoreError",
    "StoreUnavailable",
    "StoreMismatch",
    "InputError",
    "IndexEmpty",
]


class RagbotError(Exception):
    """A failure with a message fit to show a user (CLI line, chat reply)."""


class ConfigError(RagbotError):
    pass


class InputError(RagbotError):
    """The user's own input (question, flag) is unusable."""


class IndexEmpty(InputError):
    """The index has no collection or no chunks yet: nothing to answer from until an index run."""


class StoreError(RagbotError):
    pass


class StoreUnavailable(StoreError):
    """The vector store cannot be reached or opened; it may come back (serve keeps retrying)."""


class StoreMismatch(StoreError):
    """The existing collection was built for another embedding model."""
