"""URL hygiene for the crawler: canonical forms, scope, include/exclude patterns.

Links come from pages the crawler does not control, so every function here either returns a
clean URL or raises :class:`BadURL` (a ``ValueError``): one malformed link must cost that
link, never the crawl.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import posixpath
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["BadURL", "canonical", "absolute", "Scope", "looks_like_asset", "MAX_URL_CHARS"]

# Far above any real page address (browsers and CDNs cut off near 8 KB); httpx refuses 64 KB.
MAX_URL_CHARS = 8192
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # never valid inside a URL, and not guessable
_TAB_NEWLINE = re.compile(r"[\t\n\r]")

_TRACKING = ("utm_", "fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "yclid")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Never fetched as pages: their type is obvious from the name (content type is checked anyway).
# .pdf and .docx are not here: they are read as documents (indexer/formats).
_ASSET_SUFFIXES = frozenset(
    ".png .jpg .jpeg .gif .svg .ico .webp .bmp .css .js .mjs .map .json .xml .txt .csv .zip .gz .tgz .bz2 .xz "
    ".tar .whl .egg .exe .dmg .pkg .deb .rpm .woff .woff2 .ttf .otf .eot .mp3 .mp4 .webm .avi .mov .epub "
    ".doc .xls .xlsx .ppt .pptx .py .c .h .inv".split()
)


class BadURL(ValueError):
    """A link that no HTTP client could fetch (bad port, control character, absurd length, bad IP)."""


def canonical(url: str) -> str:
    """One spelling per page: no fragment, no tracking parameters, lower-case host, no default port.

    Numeric hosts are written the one way a socket reads them (``0251.0376.0251.0376`` and
    ``0xa9fea9fe`` are ``169.254.169.254``, as browsers read them), so scope checks and the
    address guard see the real address. Raises BadURL for what cannot be fetched.
    """
    # As browsers do: tabs and newlines (a wrapped attribute) are dropped, spaces encoded.
    url = _TAB_NEWLINE.sub("", url.strip()).replace(" ", "%20")
    if len(url) > MAX_URL_CHARS:
        raise BadURL(f"URL of {len(url)} characters is over the limit of {MAX_URL_CHARS}")
    if _CONTROL.search(url):
        raise BadURL("URL contains a control character")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Port out of range", "Invalid IPv6 URL"
        raise BadURL(str(exc)) from None
    scheme = parts.scheme.lower()
    host = _numeric_host(parts.hostname or "")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)])
    path = parts.path or "/"
    if "/./" in path or "/../" in path or path.endswith(("/.", "/..")):
        path = posixpath.normpath(path) + ("/" if path.endswith("/") else "")
    return urlunsplit((scheme, netloc, path, query, ""))


def _numeric_host(host: str) -> str:
    """The host in lower case; a host ending in a number is an IPv4 address (WHATWG URL rules)."""
    host = host.lower()
    labels = host.removesuffix(".").split(".")
    if ":" in host or not _is_number(labels[-1]):
        return host
    numbers = [_parse_number(label, host) for label in labels]
    if len(numbers) > 4 or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise BadURL(f"host {host!r} is not a valid IPv4 address")
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    return str(ipaddress.IPv4Address(value))


def _is_number(label: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+|0[xX][0-9a-fA-F]*", label))


def _parse_number(label: str, host: str) -> int:
    try:
        if label[:2] in ("0x", "0X"):
            return int(label[2:] or "0", 16)
        if len(label) > 1 and label.startswith("0"):
            return int(label[1:], 8)
        return int(label)
    except ValueError:
        raise BadURL(f"host {host!r} is not a valid IPv4 address") from None


def _tracking(key: str) -> bool:
    return key.lower().startswith(_TRACKING)


def absolute(base: str, href: str) -> str | None:
    """The canonical absolute URL of a link, or None for mailto:, javascript:, and the like.

    Raises BadURL for an http(s) link that cannot be fetched.
    """
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    if len(href) > MAX_URL_CHARS:
        raise BadURL(f"URL of {len(href)} characters is over the limit of {MAX_URL_CHARS}")
    try:
        joined = urljoin(base, href)
        scheme = urlsplit(joined).scheme
    except ValueError as exc:
        raise BadURL(str(exc)) from None
    if scheme not in ("http", "https"):
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
