"""Can each source be read? The folder exists, the repository answers ``git ls-remote`` with the
branch, the start pages answer and robots.txt lets ragbot fetch them.

Each check asks what the indexer will ask, the same way (the git source's environment, the
crawler's fetcher with its address guard and user agent), once, without indexing anything.
The API connectors (confluence, notion, gdrive, slack) are checked in :mod:`bot.app.doctor.connectors`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from bot.app.doctor.connectors import check_connector
from bot.app.doctor.findings import Finding, fail, ok, skip, warn
from bot.logs import redact
from indexer.config import FilesSource, GitSource, IndexerSettings, WebSource
from indexer.sources.files import selected

__all__ = ["check_source"]

GIT_TIMEOUT_S = 30
PRIVATE_GIT_HELP = (
    "check `repo`; for a private repository give git a deploy key or token "
    "(README: Run with Docker, private git repositories)"
)


def check_source(source: object, settings: IndexerSettings) -> Finding:
    if isinstance(source, FilesSource):
        return _files(source)
    if isinstance(source, GitSource):
        return _git(source)
    if isinstance(source, WebSource):
        return _web(source, settings)
    if (finding := check_connector(source, settings)) is not None:
        return finding
    name = getattr(source, "name", "?")
    return skip(f"source {name}", f"no reachability check for type {getattr(source, 'type', '?')!r} sources yet")


def _files(source: FilesSource) -> Finding:
    check = f"source {source.name}"
    path = source.path
    inside_docker = " (in Docker: the path inside the container, e.g. /docs)"
    if not path.exists():
        return fail(check, f"folder {path} does not exist", f"set `path` to your docs folder{inside_docker}")
    if not path.is_dir():
        return fail(check, f"{path} is a file, not a folder", f"set `path` to the folder that holds it{inside_docker}")
    if not os.access(path, os.R_OK | os.X_OK):
        return fail(check, f"folder {path} cannot be read by this user", "give this user read access to it")
    count = 0
    for file in path.rglob("*"):
        if file.is_file() and selected(file.relative_to(path).as_posix(), source.include, source.ignore):
            count += 1
            if count >= 10_000:
                break
    if count == 0:
        return warn(
            check,
            f"folder {path} holds no file that `include` selects ({', '.join(source.include[:3])}...)",
            "point `path` at the docs, or widen `include`",
        )
    return ok(check, f"folder {path}: {count}{'+' if count >= 10_000 else ''} files to index")


def _git(source: GitSource) -> Finding:
    from indexer.sources.git import _GIT_ENV  # the indexer's own: no prompts, no ext:: helpers

    check = f"source {source.name}"
    remote = Path(source.repo).resolve().as_uri() if source.is_local else source.repo
    shown = redact(source.repo)
    if source.is_local and not Path(source.repo).exists():
        return fail(check, f"repository folder {shown} does not exist", "set `repo` to a repository URL or path")
    try:
        result = subprocess.run(
            ["git", "-c", "protocol.ext.allow=never", "ls-remote", "--heads", "--", remote],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except FileNotFoundError:
        return fail(check, "git is not installed", "install git")
    except subprocess.TimeoutExpired:
        return fail(check, f"git ls-remote {shown} took over {GIT_TIMEOUT_S} s", PRIVATE_GIT_HELP)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = redact(lines[-1] if lines else f"git exited with {result.returncode}")
        return fail(check, f"cannot read {shown}: {reason}", PRIVATE_GIT_HELP)
    listing = result.stdout.decode("utf-8", "replace").splitlines()
    heads = [line.split("refs/heads/", 1)[1] for line in listing if "\trefs/heads/" in line]
    if source.branch not in heads:
        have = ", ".join(sorted(heads)[:10]) or "no branches at all"
        return fail(check, f"{shown} has no branch {source.branch!r} (it has: {have})", "set `branch`")
    return ok(check, f"{shown} answers; branch {source.branch!r} found")


def _web(source: WebSource, settings: IndexerSettings) -> Finding:
    from protego import Protego

    from indexer.sources.web.fetch import Fetcher, FetchError
    from indexer.sources.web.urls import BadURL, Scope, canonical

    check = f"source {source.name}"
    try:
        scope = Scope(source.urls, source.include, source.exclude)
        starts = [canonical(url) for url in source.urls]
    except BadURL as exc:
        return fail(check, f"a start URL cannot be fetched ({exc})", "fix `urls`")
    fetcher = Fetcher(
        scope,
        user_agent=settings.crawl.user_agent,
        deny_networks=settings.crawl.deny_networks,
        timeout_s=source.timeout_s,
        retries=0,
        max_bytes=source.max_bytes or settings.limits.max_file_bytes,
        concurrency=1,
        page_deadline_s=source.page_deadline_s,
    )
    robots: dict[str, Protego | None] = {}
    try:
        for url in starts:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            if source.robots and origin not in robots:
                page = fetcher.get(f"{origin}/robots.txt", html_only=False)
                if page.status >= 500:
                    return fail(check, f"{origin}/robots.txt answered HTTP {page.status}", "the site may be down")
                robots[origin] = Protego.parse(page.content.decode("utf-8", "replace")) if page.status == 200 else None
            rules = robots.get(origin)
            if rules is not None and not rules.can_fetch(url, settings.crawl.user_agent):
                return fail(
                    check,
                    f"{origin}/robots.txt disallows {url} for ragbot's user agent",
                    "ask the site's owner to allow it, or set robots = false (only for a site you run)",
                )
            page = fetcher.get(url)
            if page.status != 200:
                return fail(check, f"{url} answered HTTP {page.status}", "fix `urls` (a page that answers 200)")
            if not page.is_html:
                return warn(check, f"{url} is {page.content_type or 'not HTML'}", "start from an HTML page")
    except FetchError as exc:
        return fail(check, f"cannot fetch {source.urls[0]}: {exc}", "check the URL, and that this machine reaches it")
    finally:
        fetcher.close()
    allowed = "robots.txt allows them" if source.robots else "robots.txt not consulted (robots = false)"
    return ok(check, f"{len(starts)} start page(s) answer 200; {allowed}")
