"""The ``files`` source: a folder of Markdown, reStructuredText, HTML and text files."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from urllib.parse import quote

from bot.config import SourceConfig
from bot.models import Document
from indexer.sources.base import Listing, SourceError, content_hash

__all__ = ["list_files", "media_type_for"]

_MEDIA_TYPES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
}


def media_type_for(path: str) -> str | None:
    return _MEDIA_TYPES.get(Path(path).suffix.lower())


def _matches(relative: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatch(relative, pattern):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatch(relative, pattern[3:]):
            return True
    return False


def list_files(source: SourceConfig, max_file_bytes: int) -> Listing:
    root = source.path
    if not root.exists():
        raise SourceError(f"source {source.name!r}: path {root} does not exist; fix `path` in the config")
    if not root.is_dir():
        raise SourceError(f"source {source.name!r}: path {root} is not a folder")
    listing = Listing()
    try:
        paths = sorted(p for p in root.rglob("*") if p.is_file())
    except OSError as exc:
        raise SourceError(f"source {source.name!r}: cannot list {root}: {exc}") from None
    for path in paths:
        relative = path.relative_to(root).as_posix()
        if _matches(relative, source.ignore) or not _matches(relative, source.include):
            continue
        media_type = media_type_for(relative)
        if media_type is None:
            continue
        doc_id = f"{source.name}:{relative}"
        listing.present.add(doc_id)
        problem, content = _read(path, media_type, max_file_bytes)
        if problem:
            listing.errors.append(f"{relative}: {problem}")
            continue
        listing.documents.append(
            Document(
                doc_id=doc_id,
                source=source.name,
                url=citation_url(source, path, relative),
                path=relative,
                content=content,
                content_hash=content_hash(content),
                media_type=media_type,
                sets=tuple(sorted(set(source.sets))),
            )
        )
    return listing


def _read(path: Path, media_type: str, max_file_bytes: int) -> tuple[str | None, bytes]:
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            return f"skipped: {size} bytes is over the limit of {max_file_bytes} (limits.max_file_bytes)", b""
        content = path.read_bytes()
    except OSError as exc:
        return f"skipped: cannot read ({exc.strerror or exc})", b""
    if not content.strip():
        return "skipped: empty file", b""
    if b"\x00" in content[:8192]:
        return "skipped: binary content", b""
    if media_type != "html":  # HTML declares its own charset; the parser handles it
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"skipped: not valid UTF-8 (byte {exc.start}); convert the file to UTF-8", b""
    return None, content


def citation_url(source: SourceConfig, path: Path, relative: str) -> str:
    if source.base_url:
        return source.base_url.rstrip("/") + "/" + quote(relative)
    return str(path)
