"""HTTP for the crawler: conditional GET, size caps, retries with backoff, checked redirects.

Whether a failure is ``transient`` decides what the crawl may delete, so it is chosen with
care: timeouts, 5xx, 429 and dropped connections may pass; a malformed address, a malformed
answer, a refused address or a body over the size cap will be the same next time.

``max_bytes`` counts the bytes after decompression, while they arrive: the crawler asks
only for gzip and deflate and decompresses them itself, in bounded steps, so a small
compressed body cannot expand into gigabytes in memory.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
import zlib
from dataclasses import dataclass

import h11
import httpx

from bot.errors import FetchError, ForbiddenAddress, TooLarge
from indexer.formats import MEDIA_TYPES_BY_MIME
from indexer.sources.web.netguard import AddressPolicy
from indexer.sources.web.transport import Budget, DeadlineExceeded, GuardedTransport, Stopped
from indexer.sources.web.urls import BadURL, Scope, absolute

__all__ = ["Fetcher", "Page", "FetchError", "TooLarge", "HTML_TYPES", "inflate"]  # the errors: bot.errors

HTML_TYPES = ("text/html", "application/xhtml+xml")
_REDIRECTS = (301, 302, 303, 307, 308)
_RETRY_STATUS = (429, 500, 502, 503, 504)
_MAX_REDIRECTS = 5
_MAX_RETRY_AFTER_S = 30.0
_READ_CHUNK = 16_384  # compressed bytes handed to the decompressor at a time


@dataclass
class Page:
    url: str  # after redirects
    status: int
    content: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    location: str | None = None  # the absolute target of a redirect that was not followed

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES

    @property
    def document_type(self) -> str | None:
        """The media type ("pdf", "docx") of a PDF or Word file, which is indexed but not followed."""
        return MEDIA_TYPES_BY_MIME.get(self.content_type)


class _Inflater:
    """Decompresses a body piece by piece, never holding more than ``limit`` output bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.encoding = encoding.strip().lower()
        self.limit = limit
        self.size = 0
        self.raw_deflate_tried = False
        if self.encoding in ("", "identity"):
            self.decompressor = None
        elif self.encoding in ("gzip", "x-gzip"):
            self.decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.encoding == "deflate":
            self.decompressor = zlib.decompressobj()
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r} (only gzip and deflate)", transient=False)

    def feed(self, data: bytes) -> bytes:
        if self.decompressor is None:
            out = data
        else:
            out = self._decompress(data)
        self.size += len(out)
        if self.size > self.limit:
            raise TooLarge(self.limit)
        return out

    def _decompress(self, data: bytes) -> bytes:
        assert self.decompressor is not None
        try:
            # One byte more than is left: reaching it means the body is over the limit.
            return self.decompressor.decompress(data, self.limit - self.size + 1)
        except zlib.error as exc:
            if self.encoding == "deflate" and not self.size and not self.raw_deflate_tried:
                self.raw_deflate_tried = True  # some servers send raw deflate without the zlib header
                self.decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decompress(data)
            raise FetchError(f"cannot decompress the {self.encoding} body ({exc})", transient=False) from None


def inflate(data: bytes, limit: int) -> bytes:
    """A gzip file's content, at most ``limit`` bytes (TooLarge beyond); FetchError if corrupt."""
    return _Inflater("gzip", limit).feed(data)


class Fetcher:
    def __init__(
        self,
        scope: Scope,
        *,
        user_agent: str,
        deny_networks: list[str],
        timeout_s: float,
        retries: int,
        max_bytes: int,
        concurrency: int,
        backoff_s: float = 0.5,
        page_deadline_s: float = math.inf,
        budget: Budget | None = None,
    ) -> None:
        self.scope = scope
        self.retries = retries
        self.max_bytes = max_bytes
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.page_deadline_s = page_deadline_s
        self.budget = budget or Budget()
        self.client = httpx.Client(
            transport=GuardedTransport(AddressPolicy(deny_networks), self.budget, max_connections=concurrency * 2),
            headers={
                "User-Agent": user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                "Accept-Encoding": "gzip, deflate",  # the two decompressed here with a size cap
            },
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def get(
        self, url: str, etag: str = "", last_modified: str = "", html_only: bool = True, follow: bool = True
    ) -> Page:
        """Fetch ``url``; non-HTML bodies are not downloaded when ``html_only``. Raises FetchError.

        The whole fetch, retries and redirects included, ends within ``page_deadline_s``.
        With ``follow=False`` a redirect comes back as a page with ``location`` set, for a
        crawler that treats redirects as links (so each page is fetched once).
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with self.budget.within(self.page_deadline_s, "page_deadline_s"):
            for _ in range(_MAX_REDIRECTS + 1):
                page, location = self._with_retries(url, headers, html_only)
                if location is None:
                    return page
                target = _redirect_target(url, location)
                if not self.scope.on_site(target):
                    raise FetchError(f"redirects off the site to {location[:200]}; not followed", transient=False)
                if not follow:
                    page.location = target
                    return page
                url = target
        raise FetchError(f"more than {_MAX_REDIRECTS} redirects", transient=False)

    def _with_retries(self, url: str, headers: dict[str, str], html_only: bool) -> tuple[Page, str | None]:
        problem = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff_s * 2**attempt * (1 + random.random() / 4)
            try:
                with self.budget.within(self.timeout_s, "timeout_s"):
                    page, location, retry_after = self._once(url, headers, html_only)
            except (httpx.TimeoutException, DeadlineExceeded) as exc:
                if isinstance(exc, DeadlineExceeded) and exc.key != "timeout_s":
                    raise _deadline_error(exc.key, self.page_deadline_s) from None
                problem = f"timed out (timeout_s = {self.timeout_s:g} s)"
            except httpx.TransportError as exc:
                if _permanent(exc):
                    raise FetchError(f"the server's answer is malformed ({exc})", transient=False) from None
                problem = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                if page.status not in _RETRY_STATUS:
                    return page, location
                problem = f"HTTP {page.status}"
                wait = max(wait, min(retry_after or 0.0, _MAX_RETRY_AFTER_S))
            if attempt < self.retries:
                self._sleep(wait)
        tries = f" after {self.retries + 1} tries" if self.retries else ""
        raise FetchError(f"{problem}{tries}", transient=True)

    def _sleep(self, seconds: float) -> None:
        try:
            self.budget.sleep(seconds)
        except DeadlineExceeded as exc:
            raise _deadline_error(exc.key, self.page_deadline_s) from None
        except Stopped:
            raise FetchError("stopped by shutdown", transient=True) from None

    def _once(self, url: str, headers: dict[str, str], html_only: bool) -> tuple[Page, str | None, float | None]:
        try:
            return self._request(url, headers, html_only)
        except ForbiddenAddress as exc:
            raise FetchError(f"refused: {exc}", transient=False) from None
        except Stopped:
            raise FetchError("stopped by shutdown", transient=True) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"cannot be fetched: {exc}", transient=False) from None

    def _request(self, url: str, headers: dict[str, str], html_only: bool) -> tuple[Page, str | None, float | None]:
        with self.client.stream("GET", url, headers=headers) as response:
            page = Page(
                url=url,
                status=response.status_code,
                content_type=response.headers.get("content-type", "").split(";")[0].strip().lower(),
                etag=response.headers.get("etag", ""),
                last_modified=response.headers.get("last-modified", ""),
            )
            if response.status_code in _REDIRECTS and "location" in response.headers:
                return page, response.headers["location"], None
            if response.status_code != 200:
                return page, None, _retry_after(response.headers.get("retry-after"))
            if html_only and not page.is_html and page.document_type is None:
                return page, None, None  # the body of an image or archive is never downloaded
            page.content = self._body(response)
            return page, None, None

    def _body(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLarge(self.max_bytes, int(declared))
        inflater = _Inflater(response.headers.get("content-encoding", ""), self.max_bytes)
        body = bytearray()
        for piece in response.iter_raw(_READ_CHUNK):
            body += inflater.feed(piece)
        return bytes(body)


def _redirect_target(url: str, location: str) -> str:
    """The absolute target of a redirect; a permanent FetchError if it cannot be fetched."""
    try:
        target = absolute(url, location)
    except BadURL as exc:
        raise FetchError(f"redirects to an unusable address {location[:200]!r} ({exc})", transient=False) from None
    if target is None:
        raise FetchError(f"redirects to {location[:200]!r}, not an http(s) page; not followed", transient=False)
    return target


def _permanent(exc: httpx.TransportError) -> bool:
    """A malformed answer (bad status line or header, unusable Location): the same next time.

    httpx raises RemoteProtocolError both for those and for a dropped connection; the cause
    tells them apart (an h11 parse error or InvalidURL, against a plain disconnect).
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, h11.ProtocolError | httpx.InvalidURL):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _deadline_error(key: str, page_deadline_s: float) -> FetchError:
    if key == "page_deadline_s":
        return FetchError(f"not finished within page_deadline_s = {page_deadline_s:g} s", transient=True)
    return FetchError("the run's deadline (run_deadline_s) passed before this page was fetched", transient=True)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
