"""Text helpers the chat adapters share."""

from __future__ import annotations

__all__ = ["split_text"]

_FENCE = "```"


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at line or word breaks where possible; nothing lost.

    A code block cut between two pieces is closed at the end of the first and reopened at the
    start of the next, so each message renders its part as code."""
    if len(text) <= limit:
        return [text] if text else []
    room = limit - 2 * (len(_FENCE) + 1)  # space to close and reopen a fence
    pieces = []
    reopen = False
    while text:
        if reopen:
            text = f"{_FENCE}\n{text}"
        if len(text) <= limit:
            pieces.append(text)
            break
        cut = text.rfind("\n", 0, room)
        if cut < room // 2:
            cut = text.rfind(" ", 0, room)
        if cut < room // 2:
            cut = room
        piece, text = text[:cut], text[cut:].lstrip("\n ")
        reopen = _open_fence(piece)
        pieces.append(f"{piece}\n{_FENCE}" if reopen else piece)
    return pieces


def _open_fence(text: str) -> bool:
    return sum(1 for line in text.split("\n") if line.strip().startswith(_FENCE)) % 2 == 1
