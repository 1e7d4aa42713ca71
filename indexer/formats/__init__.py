"""Binary document formats (PDF, Word) read into the same sections as HTML and Markdown.

Every source (files, git, web, and the API connectors) hands these bytes to
:func:`indexer.parse.parse_document` with media type ``pdf`` or ``docx``; nothing else
needs to know the format. The readers are optional (the ``docs`` extra): without them, a
PDF or Word file is skipped with a line saying which extra to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from bot.errors import RagbotError

__all__ = ["NotIndexable", "MissingExtra", "require", "BINARY_MEDIA_TYPES", "MEDIA_TYPES_BY_MIME"]

# Media types whose bytes are not text: the UTF-8 and NUL checks of text files do not apply.
BINARY_MEDIA_TYPES = frozenset({"pdf", "docx"})

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MEDIA_TYPES_BY_MIME = {"application/pdf": "pdf", DOCX_MIME: "docx"}


class NotIndexable(RagbotError):
    """A document that holds no text to index as it is (a scanned PDF without a text layer).

    Not a failure of the run: it is reported as a warning, with what to do about it."""


class MissingExtra(RagbotError):
    """A reader or client library that is an optional extra is not installed."""


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise MissingExtra saying which extra brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(
            f"{what} needs the Python package {module.split('.')[0]!r}: install it with pip install 'ragbot[{extra}]'"
        ) from None
