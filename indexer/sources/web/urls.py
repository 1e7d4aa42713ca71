"""URL hygiene for the crawler: canonical forms, scope, include/exclude patterns."""

from __future__ import annotations

import fnmatch
import posixpath
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["canonical", "absolute", "Scope", "looks_like_asset"]

_TRACKING = ("utm_", "fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "yclid")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Never fetched as pages: their type is obvious from the name (content type is checked anyway).
_ASSET_SUFFIXES = frozenset(
    ".png .jpg .jpeg .gif .svg .ico .webp .bmp .css .js .mjs .map .json .xml .txt .csv .zip .gz .tgz .bz2 .xz "
    ".tar .whl .egg .exe .dmg .pkg .deb .rpm .woff .woff2 .ttf .otf .eot .mp3 .mp4 .webm .avi .mov .pdf .epub "
    ".doc .docx .xls .xlsx .ppt .pptx .py .c .h .inv".split()
)


def canonical(url: str) -> str:
    """One spelling per page: no fragment, no tracking parameters, lower-case host, no default port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)])
    path = parts.path or "/"
    if "/./" in path or "/../" in path or path.endswith(("/.", "/..")):
        path = posixpath.normpath(path) + ("/" if path.endswith("/") else "")
    return urlunsplit((scheme, netloc, path, query, ""))


def _tracking(key: str) -> bool:
    return key.lower().startswith(_TRACKING)


def absolute(base: str, href: str) -> str | None:
    """The canonical absolute URL of a link, or None for mailto:, javascript:, and the like."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    joined = urljoin(base, href)
    if urlsplit(joined).scheme not in ("http", "https"):
        return None
    return canonical(joined)


def looks_like_asset(url: str) -> bool:
    name = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    return "." in name and name[name.rindex(".") :] in _ASSET_SUFFIXES


class Scope:
    """Same site as the start pages, then the source's include/exclude patterns.

    Patterns are globs on the URL path (``/library/*``), or on the whole URL when they
    contain ``://``.
    """

    def __init__(self, start_urls: list[str], include: list[str], exclude: list[str]) -> None:
        self.origins = {_origin(canonical(url)) for url in start_urls}
        self.include = include
        self.exclude = exclude

    def on_site(self, url: str) -> bool:
        return _origin(url) in self.origins

    def allows(self, url: str) -> bool:
        if not self.on_site(url):
            return False
        path = urlsplit(url).path
        if self.include and not any(_match(url, path, p) for p in self.include):
            return False
        return not any(_match(url, path, p) for p in self.exclude)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _match(url: str, path: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(url if "://" in pattern else path, pattern)
