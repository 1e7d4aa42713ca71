"""Text helpers the chat adapters share."""

from __future__ import annotations

__all__ = ["split_text"]


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line or word breaks where possible; nothing lost."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ") if cut < len(text) else ""
    if text:
        pieces.append(text)
    return pieces
