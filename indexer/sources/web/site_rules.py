"""What a site says about crawling it: robots.txt (per origin, with its Crawl-delay) and sitemaps.

A robots.txt that cannot be read because the site is down (a fetch failure or a 5xx) fails the
source: crawling on would treat every page as gone. A missing one allows everything. A sitemap
that must exist (named in the config, a 5xx, or too large to read) but cannot be read marks the
listing incomplete, so nothing is deleted on that run.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import lxml.etree
from protego import Protego

from bot.errors import FetchError, SourceError, TooLarge
from indexer.config import WebSource
from indexer.sources.base import Listing
from indexer.sources.web.fetch import Fetcher, inflate
from indexer.sources.web.urls import BadURL, Scope, canonical

__all__ = ["SiteRules", "parse_sitemap"]

_MAX_SITEMAPS = 50
_MAX_CRAWL_DELAY_S = 10.0


class SiteRules:
    """robots.txt of each origin the crawl starts on, and the page URLs its sitemaps list."""

    def __init__(
        self,
        source: WebSource,
        *,
        fetcher: Fetcher,
        scope: Scope,
        user_agent: str,
        max_bytes: int,
        absolute: Callable[[str, str], str | None],
    ) -> None:
        self.source = source
        self.fetcher = fetcher
        self.scope = scope
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.absolute = absolute  # resolves a link, counting a malformed one (None)
        self.robots: dict[tuple[str, str], Protego | None] = {}

    def load(self, url: str) -> Protego | None:
        """robots.txt of ``url``'s origin, read once; SourceError if the site seems down."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self.robots:
            robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
            try:
                page = self.fetcher.get(robots_url, html_only=False)
            except FetchError as exc:
                raise SourceError(
                    f"source {self.source.name!r}: cannot read {robots_url} ({exc}); the site may be down; "
                    "nothing was changed"
                ) from None
            if page.status == 200:
                self.robots[origin] = Protego.parse(page.content.decode("utf-8", "replace"))
            elif page.status >= 500:
                raise SourceError(
                    f"source {self.source.name!r}: {robots_url} answered HTTP {page.status}; the site may be down; "
                    "nothing was changed"
                )
            else:
                self.robots[origin] = None  # no robots.txt: everything is allowed
        return self.robots[origin]

    def crawl_delay(self) -> float:
        """robots.txt's Crawl-delay for us (the longest of the start hosts), capped at 10 s."""
        if not self.source.robots:
            return 0.0
        delays = [r.crawl_delay(self.user_agent) or 0.0 for r in self.robots.values() if r is not None]
        return min(max(delays, default=0.0), _MAX_CRAWL_DELAY_S)

    def allows(self, url: str) -> bool:
        if not self.source.robots:
            return True
        robots = self.robots.get((urlsplit(url).scheme, urlsplit(url).netloc))
        return robots is None or robots.can_fetch(url, self.user_agent)

    def sitemap_pages(self, listing: Listing) -> list[str]:
        """The page URLs the sitemaps list (at most 50 sitemaps); problems go into ``listing``."""
        if self.source.sitemap is False:
            return []
        explicit = isinstance(self.source.sitemap, str)
        if explicit:
            try:
                queue = [canonical(str(self.source.sitemap))]
            except BadURL as exc:
                _problem(listing, str(self.source.sitemap)[:200], f"cannot be fetched ({exc})", must_exist=True)
                return []
        else:
            queue = [f"{scheme}://{netloc}/sitemap.xml" for scheme, netloc in self.robots]
            for (scheme, netloc), robots in self.robots.items():
                if robots is not None:
                    base = f"{scheme}://{netloc}/"
                    queue += [url for url in (self.absolute(base, entry) for entry in robots.sitemaps) if url]
        pages: list[str] = []
        done: set[str] = set()
        while queue and len(done) < _MAX_SITEMAPS:
            sitemap = queue.pop(0)
            if sitemap in done or not self.scope.on_site(sitemap):
                continue
            done.add(sitemap)
            try:
                page = self.fetcher.get(sitemap, html_only=False)
                children, urls = parse_sitemap(page.content, self.max_bytes) if page.status == 200 else ([], [])
            except FetchError as exc:
                # One that exists but cannot be read (a decompression bomb) may hide pages.
                _problem(listing, sitemap, str(exc), must_exist=explicit or isinstance(exc, TooLarge))
                continue
            if page.status != 200:
                _problem(listing, sitemap, f"HTTP {page.status}", must_exist=explicit or page.status >= 500)
                continue
            queue += [url for url in (self.absolute(sitemap, child) for child in children) if url]
            pages += [url for url in (self.absolute(sitemap, loc) for loc in urls) if url]
        return pages


def _problem(listing: Listing, url: str, problem: str, must_exist: bool) -> None:
    if must_exist:  # a missing page list may hide pages: delete nothing this run
        listing.complete = False
        listing.errors.append(f"sitemap {url}: {problem}; nothing was deleted")


def parse_sitemap(content: bytes, max_bytes: int) -> tuple[list[str], list[str]]:
    """(child sitemaps, page URLs) of a sitemap or sitemap index, gzipped or not.

    A gzipped one is decompressed to at most ``max_bytes`` (TooLarge beyond: a 1 MB bomb
    must not become gigabytes in memory); a corrupt one is a FetchError.
    """
    if content[:2] == b"\x1f\x8b":
        content = inflate(content, max_bytes)
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
    try:
        root = lxml.etree.fromstring(content, parser)
    except lxml.etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    locs = [text.strip() for text in root.xpath("//*[local-name()='loc']/text()")]
    if lxml.etree.QName(root).localname == "sitemapindex":
        return locs, []
    return [], locs
