"""Heading-aware chunking under a token budget measured with the embedder's own tokenizer.

A section that fits the budget is one chunk. A longer one is packed from paragraphs, then
sentences, then raw token windows, with ``overlap_tokens`` carried into the next chunk so a
fact split at a boundary is still retrievable whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import ChunkingConfig
from bot.models import Chunk, Document, ParsedDocument

__all__ = ["Chunker"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`*])")
_SPECIAL_TOKENS = 2  # [CLS] and [SEP]


@dataclass(frozen=True)
class _Piece:
    text: str
    tokens: int
    paragraph: int  # pieces of one paragraph are rejoined with a space, others with a blank line


class Chunker:
    def __init__(self, tokenizer, config: ChunkingConfig) -> None:  # type: ignore[no-untyped-def]
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
        """Sentences of each paragraph; token windows for a sentence over the budget.

        Sentence-sized pieces let the overlap carry whole sentences across a boundary.
        """
        pieces: list[_Piece] = []
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        for number, paragraph in enumerate(paragraphs):
            sentences = [s for s in _SENTENCE_END.split(paragraph) if s.strip()]
            for sentence, count in zip(sentences, self.count_tokens(sentences)):
                if count <= budget:
                    pieces.append(_Piece(sentence, count, number))
                else:
                    pieces.extend(self._windows(sentence, budget, number))
        return pieces

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
            parts.append(" " if piece.paragraph == pieces[i - 1].paragraph else "\n\n")
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
