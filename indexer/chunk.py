"""Heading-aware chunking under a token budget measured with the embedder's own tokenizer.

A section that fits the budget is one chunk. A longer one is packed from paragraphs, then
sentences, then raw token windows, with ``overlap_tokens`` carried into the next chunk so a
fact split at a boundary is still retrievable whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.blocks import LIST_MARK, SENTENCE_END, is_fence, is_table_rule, list_items, split_blocks
from bot.models import Chunk, Document, ParsedDocument
from indexer.config import ChunkingConfig

if TYPE_CHECKING:  # the embedder's tokenizer; importing transformers here costs seconds
    from transformers import PreTrainedTokenizerBase

__all__ = ["Chunker"]

_SPECIAL_TOKENS = 2  # [CLS] and [SEP]


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    paragraph: int  # pieces of one block are rejoined with ``separator``, others with a blank line
    separator: str = " "


class Chunker:
    def __init__(self, tokenizer: PreTrainedTokenizerBase, config: ChunkingConfig) -> None:
        self.tokenizer = tokenizer
        self.config = config

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def chunk(self, doc: Document, parsed: ParsedDocument) -> list[Chunk]:
        chunks: list[Chunk] = []
        for section in parsed.sections:
            heading = " > ".join(section.heading_path)
            prefix_tokens = self.count_tokens([f"{parsed.title} > {heading}\n"])[0]
            budget = max(32, self.config.max_tokens - prefix_tokens - _SPECIAL_TOKENS)
            url = f"{doc.url}#{section.anchor}" if section.anchor else doc.url
            for text in self._split(section.text, budget):
                chunks.append(
                    Chunk(
                        doc_id=doc.doc_id,
                        chunk_index=len(chunks),
                        source=doc.source,
                        url=url,
                        title=parsed.title,
                        section=heading,
                        text=text,
                        content_hash=doc.content_hash,
                        sets=doc.sets,
                        etag=doc.etag,
                        last_modified=doc.last_modified,
                    )
                )
        return chunks

    def _split(self, text: str, budget: int) -> list[str]:
        if self.count_tokens([text])[0] <= budget:
            return [text]
        pieces = self._pieces(text, budget)
        return _pack(pieces, budget, min(self.config.overlap_tokens, budget // 4))

    def _pieces(self, text: str, budget: int) -> list[_Piece]:
        """Sentences of paragraphs, items of lists, rows of tables, whole code blocks; token
        windows for anything over the budget.

        Sentence-sized pieces let the overlap carry whole sentences across a boundary; list
        items and table rows stay on their own lines, a code block stays fenced, and a table
        split across chunks repeats its header so every row keeps its column names."""
        pieces: list[_Piece] = []
        for number, block in enumerate(split_blocks(text)):
            if block.kind == "code":
                pieces.extend(self._code_pieces(block.lines, budget, number))
                continue
            if block.kind == "table":
                pieces.extend(self._table_pieces(block.lines, budget, number))
                continue
            if block.kind == "list":
                parts, separator = ["\n".join(item) for item in list_items(block.lines)], "\n"
            else:
                parts, separator = [s for s in SENTENCE_END.split(" ".join(block.lines)) if s.strip()], " "
            for part, count in zip(parts, self.count_tokens(parts)):
                if count <= budget:
                    pieces.append(_Piece(part, count, number, separator))
                else:
                    pieces.extend(self._windows(part, budget, number))
        return _glue_lead_ins(pieces, budget)

    def _code_pieces(self, lines: tuple[str, ...], budget: int, paragraph: int) -> list[_Piece]:
        """A fenced block, or fenced groups of its lines when it is over the budget."""
        fence, body = lines[0], list(lines[1:-1])
        groups: list[list[str]] = [[]]
        for line, count in zip(body, self.count_tokens(body) if body else []):
            group_text = "\n".join([fence, *groups[-1], line, fence])
            if groups[-1] and self.count_tokens([group_text])[0] > budget:
                groups.append([])
            if count + 4 > budget:  # one line longer than a chunk: each of its windows is a group
                windows = [window.text for window in self._windows(line, budget - 8, paragraph)]
                groups[-1:] = [*([groups[-1]] if groups[-1] else []), *([w] for w in windows), []]
            else:
                groups[-1].append(line)
        texts = ["\n".join([fence, *group, fence[:3]]) for group in groups if group]
        return [
            _Piece(text, count, -(paragraph * 1000 + i + 1))
            for i, (text, count) in enumerate(zip(texts, self.count_tokens(texts)))
        ]

    def _table_pieces(self, lines: tuple[str, ...], budget: int, paragraph: int) -> list[_Piece]:
        """Rows packed under the budget, each group led by the header (and its rule) if there is one."""
        header = list(lines[:2]) if len(lines) > 1 and is_table_rule(lines[1]) else []
        rows = list(lines[len(header) :])
        groups: list[list[str]] = []
        for row in rows:
            candidate = [*header, *(groups[-1][len(header) :] if groups else []), row]
            if groups and self.count_tokens(["\n".join(candidate)])[0] <= budget // 2:
                groups[-1].append(row)
            else:
                groups.append([*header, row])
        texts = ["\n".join(group) for group in groups] or ["\n".join(lines)]
        return [
            _Piece(text, count, -(paragraph * 1000 + i + 1))
            for i, (text, count) in enumerate(zip(texts, self.count_tokens(texts)))
        ]

    def _windows(self, text: str, budget: int, paragraph: int) -> list[_Piece]:
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        windows = []
        for start in range(0, len(offsets), budget):
            span = offsets[start : start + budget]
            windows.append(_Piece(text[span[0][0] : span[-1][1]], len(span), paragraph))
        return windows


def _join(pieces: list[_Piece]) -> str:
    parts: list[str] = []
    for i, piece in enumerate(pieces):
        if i:
            parts.append(piece.separator if piece.paragraph == pieces[i - 1].paragraph else "\n\n")
        parts.append(piece.text)
    return "".join(parts)


def _pack(pieces: list[_Piece], budget: int, overlap: int) -> list[str]:
    chunks: list[str] = []
    current: list[_Piece] = []
    size = 0
    for piece in pieces:
        # Joining can add a token or two at a seam; keep a small margin under the budget.
        if current and size + piece.tokens + len(current) // 8 > budget:
            chunks.append(_join(current))
            carried: list[_Piece] = []
            carried_size = 0
            for previous in reversed(current):
                if carried_size + previous.tokens > overlap:
                    break
                carried.insert(0, previous)
                carried_size += previous.tokens
            if carried_size + piece.tokens > budget:
                carried, carried_size = [], 0
            current, size = carried, carried_size
        current.append(piece)
        size += piece.tokens
    if current:
        chunks.append(_join(current))
    return chunks


def _glue_lead_ins(pieces: list[_Piece], budget: int) -> list[_Piece]:
    """A sentence that introduces a block ("In Slack, run:") travels with the block's first
    piece, so no chunk boundary separates an instruction from the command it announces."""
    glued: list[_Piece] = []
    for piece in pieces:
        previous = glued[-1] if glued else None
        if (
            previous is not None
            and previous.text.rstrip().endswith(":")
            and previous.paragraph != piece.paragraph
            and _starts_block(piece.text)
            and previous.tokens + piece.tokens + 2 <= budget
        ):
            glued[-1] = _Piece(f"{previous.text}\n\n{piece.text}", previous.tokens + piece.tokens + 2, piece.paragraph)
            continue
        glued.append(piece)
    return glued


def _starts_block(text: str) -> bool:
    return is_fence(text) or text.startswith("|") or bool(LIST_MARK.match(text))
