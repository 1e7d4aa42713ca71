"""The ``files`` source: a folder of Markdown, reStructuredText, HTML and text files.

Only what lies inside the folder is read: a symlink (file or folder) that resolves outside
it is skipped and reported, so a link such as ``docs/creds.txt -> ../secrets/creds.txt``
cannot put a file the operator never chose into the index and into chat answers. Without
``base_url``, citations read ``file:<source>/<relative path>``, so answers never show this
server's folder layout.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from indexer.config import FilesSource
from indexer.formats import BINARY_MEDIA_TYPES
from indexer.sources.base import Listing, SourceError

__all__ = ["list_files", "media_type_for", "selected", "content_problem", "too_big"]

_MEDIA_TYPES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".pdf": "pdf",
    ".docx": "docx",
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
    real_root = root.resolve()
    try:
        paths = sorted(_walk(root, real_root, source, listing))
    except OSError as exc:
        raise SourceError(f"source {source.name!r}: cannot list {root}: {exc}") from None
    for relative, real in paths:
        media_type = media_type_for(relative)
        if media_type is None:
            continue
        doc_id = f"{source.name}:{relative}"
        listing.present.add(doc_id)
        problem, content = _read(real, media_type, max_file_bytes)
        if problem:
            listing.fail(doc_id, f"{relative}: {problem}")
            continue
        listing.add(doc_id, source.name, source.sets, relative, citation_url(source, relative), content, media_type)
    return listing


def _walk(root: Path, real_root: Path, source: FilesSource, listing: Listing) -> Iterator[tuple[str, Path]]:
    """(relative path, real path) of every selected file inside the folder, symlinks checked.

    Folders are not followed through symlinks (a link back up would loop); a linked file is
    read at its real path, and only if that path is inside the folder.
    """
    for folder, dirs, files in os.walk(root, followlinks=False, onerror=_raise):
        here = Path(folder)
        for name in dirs:
            relative = (here / name).relative_to(root).as_posix()
            linked_out = (here / name).is_symlink() and not _inside((here / name).resolve(), real_root)
            if linked_out and not _matches(f"{relative}/-", source.ignore):  # "-": any file in it
                listing.skip(f"{relative}/: skipped: a symlink to a folder outside the source folder")
        for name in files:
            relative = (here / name).relative_to(root).as_posix()
            if not selected(relative, source.include, source.ignore):
                continue
            real = (here / name).resolve()
            if not _inside(real, real_root):
                listing.skip(f"{relative}: skipped: a symlink to a file outside the source folder")
            elif real.is_file():
                yield relative, real


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _raise(error: OSError) -> None:
    raise error


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
    if media_type in BINARY_MEDIA_TYPES:  # PDF and Word: their reader checks them
        return None
    if b"\x00" in content[:8192]:
        return "skipped: binary content"
    if media_type != "html":  # HTML declares its own charset; the parser handles it
        try:
            content.decode("utf-8")
        except UnicodeDecodeError as exc:
            return f"skipped: not valid UTF-8 (byte {exc.start}); convert the file to UTF-8"
    return None


def citation_url(source: FilesSource, relative: str) -> str:
    """base_url + relative path; without base_url, ``file:<source>/<relative path>`` (no server path)."""
    if source.base_url:
        return source.base_url.rstrip("/") + "/" + quote(relative)
    return f"file:{source.name}/{quote(relative)}"
