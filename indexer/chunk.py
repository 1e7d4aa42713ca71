"""Heading-aware chunking under a token budget measured with the embedder's own tokenizer.

A section that fits the budget is one chunk. A longer one is packed from paragraphs, then
sentences, then raw token windows, with ``overlap_tokens`` carried into the next chunk so a
fact split at a boundary is still retrievable whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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
                    )
                )
        return chunks

    def _split(self, text: str, budget: int) -> list[str]:
        if self.count_tokens([text])[0] <= budget:
            return [text]
        pieces = self._pieces(text, budget)
        return _pack(pieces, budget, min(self.config.overlap_tokens, budget // 4))

    def _pieces(self, text: str, budget: int) -> list[_Piece]:
        """Paragraphs, or sentences of paragraphs too long, or token windows of sentences too long."""
        pieces: list[_Piece] = []
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        for paragraph, tokens in zip(paragraphs, self.count_tokens(paragraphs)):
            if tokens <= budget:
                pieces.append(_Piece(paragraph, tokens))
                continue
            sentences = [s for s in _SENTENCE_END.split(paragraph) if s.strip()]
            for sentence, count in zip(sentences, self.count_tokens(sentences)):
                if count <= budget:
                    pieces.append(_Piece(sentence, count))
                else:
                    pieces.extend(self._windows(sentence, budget))
        return pieces

    def _windows(self, text: str, budget: int) -> list[_Piece]:
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        windows = []
        for start in range(0, len(offsets), budget):
            span = offsets[start : start + budget]
            windows.append(_Piece(text[span[0][0] : span[-1][1]], len(span)))
        return windows


def _pack(pieces: list[_Piece], budget: int, overlap: int, joiner: Callable[[list[str]], str] = "\n\n".join) -> list[str]:
    chunks: list[str] = []
    current: list[_Piece] = []
    size = 0
    for piece in pieces:
        if current and size + piece.tokens > budget:
            chunks.append(joiner([p.text for p in current]))
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
        chunks.append(joiner([p.text for p in current]))
    return chunks
