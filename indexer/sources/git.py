"""The ``git`` source: the files at the head of one branch of a repository.

The repository is fetched (shallow, one branch) into a bare mirror under the data dir and the
files are read straight from the commit, so local edits or a dirty work tree never leak in.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

from indexer.config import GitSource
from indexer.sources.base import Listing, SourceError
from indexer.sources.files import content_problem, media_type_for, selected, too_big

__all__ = ["list_git", "redact"]

_REF = "refs/ragbot/head"
# Never let a repository URL run a helper program (ext::) or prompt for a password.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh", "GIT_ASKPASS": "true"}


def redact(text: str) -> str:
    """Hide credentials in URLs (``https://user:token@host``) before they reach a log or a chat."""
    return re.sub(r"(\w+://)[^/@\s]+@", r"\1***@", text)


def list_git(source: GitSource, *, data_dir: Path, max_file_bytes: int) -> Listing:
    """The files at the head of the branch; the mirror is kept under ``data_dir`` between runs."""
    mirror = data_dir / "git" / source.name
    commit = _fetch(source, mirror)
    prefix = source.subdir.strip("/")
    listing = Listing()
    wanted: list[tuple[str, str, str]] = []  # (object id, repository path, media type)
    for mode, kind, object_id, size, path in _tree(source, mirror, commit):
        if kind != "blob" or mode == "120000":  # folders, submodules and symlinks
            continue
        if prefix and not path.startswith(prefix + "/"):
            continue
        relative = path[len(prefix) + 1 :] if prefix else path
        media_type = media_type_for(relative)
        if media_type is None or not selected(relative, source.include, source.ignore):
            continue
        doc_id = f"{source.name}:{relative}"
        if size > max_file_bytes:
            listing.fail(doc_id, f"{relative}: {too_big(size, max_file_bytes)}")
            continue
        listing.present.add(doc_id)
        wanted.append((object_id, path, media_type))
    blobs = _read_blobs(source, mirror, [object_id for object_id, _, _ in wanted])
    for (_, path, media_type), content in zip(wanted, blobs, strict=True):
        relative = path[len(prefix) + 1 :] if prefix else path
        doc_id = f"{source.name}:{relative}"
        problem = content_problem(content, media_type)
        if problem:
            listing.fail(doc_id, f"{relative}: {problem}")
            continue
        listing.add(
            doc_id, source.name, source.sets, relative, _citation_url(source, path, commit), content, media_type
        )
    return listing


def _fetch(source: GitSource, mirror: Path) -> str:
    """Bring the branch head into the mirror; the commit id. SourceError if the fetch fails."""
    if not (mirror / "HEAD").exists():
        mirror.mkdir(parents=True, exist_ok=True)
        _git(source, ["init", "--bare", "--quiet", str(mirror)])
    remote = source.repo
    if source.is_local:
        if not (Path(remote) / ".git").exists() and not (Path(remote) / "HEAD").exists():
            raise SourceError(
                f"source {source.name!r}: {remote} is not a git repository; fix `repo` in the config "
                "(nothing was changed)"
            )
        remote = Path(remote).resolve().as_uri()  # file:// so that --depth works for local repos
    refspec = f"+refs/heads/{source.branch}:{_REF}"
    _git(source, ["-C", str(mirror), "fetch", "--quiet", "--depth", "1", "--no-tags", "--", remote, refspec])
    return _git(source, ["-C", str(mirror), "rev-parse", _REF]).strip()


def _git(source: GitSource, args: list[str]) -> str:
    try:
        result = subprocess.run(
            ["git", "-c", "protocol.ext.allow=never", *args],
            capture_output=True,
            timeout=source.timeout_s,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except FileNotFoundError:
        raise SourceError("git is not installed; install git to index `git` sources") from None
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"source {source.name!r}: git took over {source.timeout_s:g} s (timeout_s); nothing was changed"
        ) from None
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        message = redact(lines[-1] if lines else f"git exited with {result.returncode}")
        raise SourceError(
            f"source {source.name!r}: cannot read branch {source.branch!r} of {redact(source.repo)}: {message}; "
            "nothing was changed"
        )
    return result.stdout.decode("utf-8", "replace")


def _tree(source: GitSource, mirror: Path, commit: str) -> list[tuple[str, str, str, int, str]]:
    """(mode, type, object id, size, path) of every entry at ``commit``."""
    output = _git(source, ["-C", str(mirror), "ls-tree", "-r", "-z", "--long", "--full-tree", commit])
    entries = []
    for record in output.split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, object_id, size = meta.split(maxsplit=3)
        entries.append((mode, kind, object_id, int(size) if size.strip().isdigit() else 0, path))
    return entries


def _read_blobs(source: GitSource, mirror: Path, object_ids: list[str]) -> list[bytes]:
    """The contents of many blobs in one ``git cat-file --batch`` call."""
    if not object_ids:
        return []
    try:
        result = subprocess.run(
            ["git", "-C", str(mirror), "cat-file", "--batch"],
            input="".join(f"{object_id}\n" for object_id in object_ids).encode(),
            capture_output=True,
            timeout=source.timeout_s,
            env={**os.environ, **_GIT_ENV},
            check=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise SourceError(f"source {source.name!r}: cannot read files from the fetched commit ({exc})") from None
    out, position, contents = result.stdout, 0, []
    for _ in object_ids:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        contents.append(out[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1  # the content is followed by a newline
    return contents


def _citation_url(source: GitSource, path: str, commit: str) -> str:
    if source.url_pattern:
        return source.url_pattern.format(path=quote(path), branch=source.branch, commit=commit)
    if source.is_local:
        return f"file:{source.name}/{quote(path)}"  # like a files source: no server path in answers
    # GitHub, GitLab, Gitea and Bitbucket all serve /blob/<branch>/<path>.
    base = redact(source.repo).removesuffix(".git").rstrip("/")
    return f"{base}/blob/{quote(source.branch)}/{quote(path)}"
