"""Text helpers the chat adapters share."""

from __future__ import annotations

from bot.blocks import open_fence

__all__ = ["split_text"]

_FENCE_CHARS = 3  # ``` or ~~~


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line or word breaks where possible; nothing lost.

    A code block cut between two pieces is closed at the end of the first and reopened at the
    start of the next, so each message renders its part as code."""
    if limit < 32:
        raise ValueError(f"split_text needs a limit of at least 32 characters, got {limit}")
    if len(text) <= limit:
        return [text] if text else []
    room = limit - 2 * (_FENCE_CHARS + 1)  # space to close and reopen a fence
    pieces = []
    fence: str | None = None
    while text:
        if fence:
            text = f"{fence}\n{text}"
        if len(text) <= limit:
            pieces.append(text)
            break
        cut = text.rfind("\n", 0, room)
        if cut < room // 2:
            cut = text.rfind(" ", 0, room)
        if cut < room // 2:
            cut = room
        piece = text[:cut]
        fence = open_fence(piece)
        # inside code, the next line's indentation is part of it; in prose the break is dropped
        text = text[cut:].removeprefix("\n") if fence else text[cut:].lstrip("\n ")
        pieces.append(f"{piece}\n{fence}" if fence else piece)
    return pieces
