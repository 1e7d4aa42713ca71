"""Errors that reach users: each says what went wrong and what to do about it."""

__all__ = ["RagbotError", "ConfigError", "StoreError", "StoreUnavailable", "StoreMismatch", "InputError"]


class RagbotError(Exception):
    """A failure with a message fit to show a user (CLI line, chat reply)."""


class ConfigError(RagbotError):
    pass


class InputError(RagbotError):
    """The user's own input (question, flag) is unusable."""


class StoreError(RagbotError):
    pass


class StoreUnavailable(StoreError):
    """The vector store cannot be reached or opened."""


class StoreMismatch(StoreError):
    """The existing collection was built for another embedding model."""
