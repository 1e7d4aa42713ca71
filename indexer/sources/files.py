"""The ``files`` source: a folder of Markdown, reStructuredText, HTML and text files."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from urllib.parse import quote

from bot.config import FilesSource
from indexer.sources.base import Listing, SourceError

__all__ = ["list_files", "media_type_for", "selected", "content_problem", "too_big"]

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


def selected(relative: str, include: list[str], ignore: list[str]) -> bool:
    """Whether a relative path passes the source's include and ignore globs."""
    return _matches(relative, include) and not _matches(relative, ignore)


def _matches(relative: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if fnmatch.fnmatch(relative, pattern):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatch(relative, pattern[3:]):
            return True
    return False


def list_files(source: FilesSource, max_file_bytes: int) -> Listing:
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
        if not selected(relative, source.include, source.ignore):
            continue
        media_type = media_type_for(relative)
        if media_type is None:
            continue
        doc_id = f"{source.name}:{relative}"
        listing.present.add(doc_id)
        problem, content = _read(path, media_type, max_file_bytes)
        if problem:
            listing.fail(doc_id, f"{relative}: {problem}")
            continue
        listing.add(
            doc_id, source.name, source.sets, relative, citation_url(source, path, relative), content, media_type
        )
    return listing


def _read(path: Path, media_type: str, max_file_bytes: int) -> tuple[str | None, bytes]:
    try:
        size = path.stat().st_size
        if size > max_file_bytes:
            return too_big(size, max_file_bytes), b""
        content = path.read_bytes()
    except OSError as exc:
        return f"skipped: cannot read ({exc.strerror or exc})", b""
    problem = content_problem(content, media_type)
    return problem, b"" if problem else content


def too_big(size: int, limit: int) -> str:
    return f"skipped: {size} bytes is over the limit of {limit} (limits.max_file_bytes)"


def content_problem(content: bytes, media_type: str, max_bytes: int | None = None) -> str | None:
    """Why a file's bytes cannot be indexed, or None."""
    if max_bytes is not None and len(content) > max_bytes:
        return too_big(len(content), max_bytes)
    if not content.strip():
        return "skipped: empty file"
    if b"\x00" in content[:8192]:
        return "skipped: binary content"
    if media_type != "html":  # HTML declares its own charset; the parser handles it
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"skipped: not valid UTF-8 (byte {exc.start}); convert the file to UTF-8"
    return None


def citation_url(source: FilesSource, path: Path, relative: str) -> str:
    if source.base_url:
        return source.base_url.rstrip("/") + "/" + quote(relative)
    return str(path)
