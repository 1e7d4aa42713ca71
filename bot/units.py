"""Answer units: the smallest pieces of a passage that can be quoted on their own and still
say what the page says.

A bare sentence is often not such a piece. "In Slack, run:" needs the command after it;
"Updates touching more than 1 million rows must be batched:" needs the list that says how;
"London | EUR 240" needs its column names; "**Connected but internal sites time out**: usually
an MTU problem." needs the next sentence, which gives the fix. This module keeps those
together, so every generator, extractive or model, gets whole facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.blocks import (
    LIST_MARK,
    SENTENCE_END,
    Block,
    is_table_rule,
    list_items,
    open_fence,
    split_blocks,
    table_cells,
)

__all__ = ["Unit", "answer_units", "MAX_UNIT_CHARS", "flatten"]

UnitKind = Literal["sentence", "item", "block", "row"]

MAX_UNIT_CHARS = 1200  # a lead-in with a longer list or code block is cut at a line, with a note
# "**Term**: text", "Term: text" where the term is a short label (no sentence end before the colon).
_DEFINITION = re.compile(r"^(?:\*\*[^*]{1,80}\*\*|[A-Z][^.!?:]{0,60}):\s+\S")
_SHORT_DEFINITION_CHARS = 110  # a definition this short is a label, and the next sentence completes it


@dataclass(frozen=True)
class Unit:
    """One quotable piece, verbatim (a table row is shown with its column names)."""

    text: str
    kind: UnitKind
    position: int  # order within the passage

    @property
    def multiline(self) -> bool:
        return "\n" in self.text


def answer_units(text: str) -> list[Unit]:
    """The passage's units in document order."""
    units: list[str | tuple[str, UnitKind]] = []
    blocks = split_blocks(text)
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if block.kind == "paragraph":
            units.extend(_paragraph_units(block, following))
        elif block.kind == "list":
            if not _introduced(blocks, index):
                units.extend((item, "item") for item in _items(block))
        elif block.kind == "code":
            if not _introduced(blocks, index):
                units.append((_capped(block.text), "block"))
        else:
            units.extend((row, "row") for row in _rows(block))
    return [
        Unit(
            text=value if isinstance(value, str) else value[0],
            kind="sentence" if isinstance(value, str) else value[1],
            position=i,
        )
        for i, value in enumerate(units)
    ]


def flatten(text: str) -> str:
    """One line of plain words for scoring: fences and list marks dropped, lines joined."""
    lines = [
        LIST_MARK.sub("", line).strip() for line in text.split("\n") if not line.strip().startswith(("```", "~~~"))
    ]
    return " ".join(line for line in lines if line)


def _paragraph_units(block: Block, following: Block | None) -> list[str | tuple[str, UnitKind]]:
    sentences = [s.strip() for s in SENTENCE_END.split(" ".join(block.lines)) if s.strip()]
    units: list[str | tuple[str, UnitKind]] = []
    i = 0
    while i < len(sentences):
        sentence = sentences[i]
        last = i + 1 == len(sentences)
        if last and sentence.endswith(":") and following is not None and following.kind in ("list", "code"):
            units.append((_capped(f"{sentence}\n{following.text}"), "block"))
        elif not last and _completes(sentence):
            units.append(f"{sentence} {sentences[i + 1]}")
            i += 1
        else:
            units.append(sentence)
        i += 1
    return units


def _completes(sentence: str) -> bool:
    """A label or a lead-in whose point is in the next sentence."""
    if sentence.endswith(":"):
        return True
    return bool(_DEFINITION.match(sentence)) and len(sentence) <= _SHORT_DEFINITION_CHARS


def _introduced(blocks: list[Block], index: int) -> bool:
    """The block is quoted with the lead-in sentence just before it."""
    if index == 0:
        return False
    before = blocks[index - 1]
    return before.kind == "paragraph" and " ".join(before.lines).rstrip().endswith(":")


def _items(block: Block) -> list[str]:
    return [
        " ".join([LIST_MARK.sub("", item[0]).strip(), *(line.strip() for line in item[1:])])
        for item in list_items(block.lines)
    ]


def _rows(block: Block) -> list[str]:
    """Each data row with its column names: "City: London, Nightly cap: EUR 240"."""
    lines = list(block.lines)
    header: list[str] = []
    if len(lines) > 1 and is_table_rule(lines[1]):
        header, lines = table_cells(lines[0]), lines[2:]
    rows = []
    for line in lines:
        if is_table_rule(line):
            continue
        cells = table_cells(line)
        if header and len(header) == len(cells):
            rows.append(", ".join(f"{name}: {cell}" if name else cell for name, cell in zip(header, cells) if cell))
        else:
            rows.append(" | ".join(cell for cell in cells if cell))
    return [row for row in rows if row]


def _capped(text: str) -> str:
    """At most MAX_UNIT_CHARS, cut at a line; a cut code block is closed and the cut is said."""
    if len(text) <= MAX_UNIT_CHARS:
        return text
    kept: list[str] = []
    size = 0
    for line in text.split("\n"):
        if kept and size + len(line) + 1 > MAX_UNIT_CHARS - 40:
            break
        kept.append(line)
        size += len(line) + 1
    fence = open_fence("\n".join(kept))
    if fence:
        kept.append(fence)
    kept.append("(continued in the source)")
    return "\n".join(kept)
