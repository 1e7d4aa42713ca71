"""The block structure of chunk text: paragraphs, lists, code blocks and tables.

Every parser writes sections in one Markdown-like form (fenced code, ``- `` / ``1. `` items,
``| a | b |`` rows), so the chunker and the generators read structure the same way,
whatever format the document came in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Block",
    "split_blocks",
    "LIST_MARK",
    "SENTENCE_END",
    "table_cells",
    "is_table_rule",
    "is_fence",
    "open_fence",
]

BlockKind = Literal["paragraph", "list", "code", "table"]

LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`*])")  # where prose is split into sentences
_FENCE = ("```", "~~~")
_CELL = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def split_blocks(text: str) -> list[Block]:
    """Blocks in document order. A fence runs to its closing fence (blank lines included); a list
    is its consecutive items with their continuation lines; a table is consecutive ``|`` lines."""
    blocks: list[Block] = []
    current: list[str] = []
    kind: BlockKind = "paragraph"

    def flush() -> None:
        nonlocal current
        if current:
            blocks.append(Block(kind, tuple(current)))
            current = []

    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith(_FENCE):
            flush()
            fence = stripped[:3]
            body = [stripped]
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            body.append(fence)  # an unclosed fence is closed where the text ends
            blocks.append(Block("code", tuple(body)))
            i += 1
            continue
        if not stripped:
            flush()
        elif stripped.startswith("|"):
            if kind != "table":
                flush()
                kind = "table"
            current.append(stripped)
        elif LIST_MARK.match(line):
            if kind != "list":
                flush()
                kind = "list"
            current.append(line.rstrip())
        else:
            if kind == "table" or (kind == "list" and not current):
                flush()
            if not current:
                kind = "paragraph"
            current.append(line.rstrip() if kind == "list" else stripped)
        i += 1
    flush()
    return blocks


def is_table_rule(line: str) -> bool:
    """The ``|---|---|`` line under a Markdown table's header."""
    return bool(line.strip()) and set(line.strip()) <= set("|-: ")


def table_cells(line: str) -> list[str]:
    """The cells of a ``| a | b |`` row; an escaped ``\\|`` is a pipe inside a cell."""
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in _CELL.split(inner)]


def is_fence(line: str) -> bool:
    """A line that opens or closes a fenced code block."""
    return line.strip().startswith(_FENCE)


def open_fence(text: str) -> str | None:
    """The fence a text leaves open (cut in the middle of a code block), or None."""
    opened: str | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        if opened is None and stripped.startswith(_FENCE):
            opened = stripped[:3]
        elif opened is not None and stripped.startswith(opened):
            opened = None
    return opened


def list_items(lines: tuple[str, ...]) -> list[list[str]]:
    """A list block's items, each with its continuation lines (a wrapped item, a nested item)."""
    items: list[list[str]] = []
    for line in lines:
        if LIST_MARK.match(line) or not items:
            items.append([line])
        else:
            items[-1].append(line)
    return items
