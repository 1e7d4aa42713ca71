"""What one fetched URL adds to a crawl's listing: a document, a 304, a redirect, a gone page, a failure.

The crawl loop (``crawl.py``) decides what to fetch and when; this module decides what each answer
means. A failure that may pass (5xx, timeouts) makes the listing incomplete, so nothing is deleted;
a page not re-read keeps the links it had last time (``crawl_state.py``), so what it linked to is
still crawled. Links a site gets wrong are counted by reason and reported once, not per page.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from indexer.config import WebSource
from indexer.sources.base import Listing
from indexer.sources.files import content_problem
from indexer.sources.web.crawl_state import PageInfo
from indexer.sources.web.fetch import FetchError, Page
from indexer.sources.web.urls import BadURL, Scope, absolute

__all__ = ["CrawlRecord", "Fetched", "PageHandler"]

log = logging.getLogger(__name__)

_MAX_WARNING_LINES = 10  # per kind, so a site full of junk cannot flood the run record


@dataclass
class Fetched:
    """One fetch's outcome: the page, or why there is none."""

    url: str
    depth: int
    page: Page | None = None
    error: FetchError | None = None


@dataclass
class CrawlRecord:
    """What a crawl has learned so far, shared by the loop and the page handling."""

    listing: Listing
    previous: dict[str, PageInfo]  # the crawl state of the last run
    current: dict[str, PageInfo] = field(default_factory=dict)  # this run's, saved at the end
    start_urls: set[str] = field(default_factory=set)
    doc_urls: set[str] = field(default_factory=set)  # documents added so far (one per canonical URL)
    bad_links: Counter[str] = field(default_factory=Counter)  # why -> how many malformed links were skipped


class PageHandler:
    """Records each fetched URL in a :class:`CrawlRecord`; ``enqueue(url, depth)`` gets the links to follow."""

    def __init__(
        self, source: WebSource, *, scope: Scope, record: CrawlRecord, enqueue: Callable[[str, int], None]
    ) -> None:
        self.source = source
        self.scope = scope
        self.record = record
        self.enqueue = enqueue

    def doc_id(self, url: str) -> str:
        return f"{self.source.name}:{url}"

    def absolute(self, base: str, href: str) -> str | None:
        """absolute(), with a malformed link counted and skipped."""
        try:
            return absolute(base, href)
        except BadURL as exc:
            self.record.bad_links[str(exc)] += 1
            return None

    def bad_link_warnings(self) -> list[str]:
        bad_links = self.record.bad_links
        lines = [
            f"skipped {count} malformed link(s): {why}; fix them on the site (they cannot be fetched)"
            for why, count in bad_links.most_common(_MAX_WARNING_LINES)
        ]
        if len(bad_links) > _MAX_WARNING_LINES:
            rest = sum(bad_links.values()) - sum(c for _, c in bad_links.most_common(_MAX_WARNING_LINES))
            lines.append(f"skipped {rest} more malformed link(s) for other reasons")
        return lines

    def handle(self, result: Fetched) -> bool:
        """Record one fetch; True if the page was read or confirmed unchanged. A page that breaks the
        handling (an lxml or a crawler bug) is recorded as that page's failure, never raised."""
        try:
            return self._handle(result)
        except Exception as exc:
            log.exception("%s: unexpected failure on %s", self.source.name, result.url)
            self.record.listing.fail(self.doc_id(result.url), f"{result.url}: skipped: unexpected failure ({exc!r})")
            return False

    def follow_known_links(self, url: str, depth: int) -> None:
        """A page not re-read this time: keep what we knew of it and follow its old links."""
        previous = self.record.previous.get(url)
        if previous is None:
            return
        self.record.current[url] = previous
        for link in previous.links:
            self.enqueue(link, depth + 1)

    def _handle(self, result: Fetched) -> bool:
        url, listing = result.url, self.record.listing
        previous = self.record.previous.get(url)
        if result.error is not None:
            doc_id = self.doc_id(previous.doc_url if previous and previous.doc_url else url)
            listing.fail(doc_id, f"{url}: {result.error}")
            if result.error.transient:
                listing.complete = False
            self.follow_known_links(url, result.depth)
            return False
        page = result.page
        assert page is not None
        if page.location is not None:  # a redirect is a link that counts as the same hop
            self.record.current[url] = PageInfo(None, [page.location])
            if url in self.record.start_urls:
                self.record.start_urls.add(page.location)
            self.enqueue(page.location, result.depth)
            return False
        if page.status == 304 and previous is not None and previous.doc_url:
            doc_id = self.doc_id(previous.doc_url)
            if doc_id not in listing.present:
                listing.present.add(doc_id)
                listing.not_modified.add(doc_id)
                listing.fetched += 1
            self.follow_known_links(url, result.depth)
            return True
        if page.status in (404, 410):
            gone_url = previous.doc_url if previous and previous.doc_url else url
            listing.gone.add(self.doc_id(gone_url))
            if url in self.record.start_urls:
                listing.errors.append(f"{url}: HTTP {page.status}; check `urls` in the config")
            return False
        if page.status != 200:
            doc_id = self.doc_id(previous.doc_url if previous and previous.doc_url else url)
            listing.fail(doc_id, f"{url}: HTTP {page.status}")
            self.follow_known_links(url, result.depth)
            return False
        if page.document_type is not None:  # a PDF or Word file: indexed, no links followed
            self._read_document(page, url, page.document_type)
            return True
        if not page.is_html:
            log.info("skipped %s: content type %s", url, page.content_type or "unknown")
            return False
        self._read_page(page, url, result.depth)
        return True

    def _read_page(self, page: Page, requested: str, depth: int) -> None:
        try:
            tree = lxml.html.document_fromstring(page.content)
        except (lxml.etree.ParserError, ValueError) as exc:
            self.record.listing.fail(self.doc_id(page.url), f"{requested}: cannot parse HTML ({exc})")
            return
        base = tree.base_url or page.url
        for href in tree.xpath("//base/@href")[:1]:
            base = self.absolute(page.url, href) or page.url
        robots_meta = " ".join(tree.xpath("//meta[@name='robots']/@content")).lower()
        links = [] if "nofollow" in robots_meta else self._links(tree, base)
        doc_url = None if "noindex" in robots_meta else self._canonical_of(tree, page.url)
        self.record.current[requested] = PageInfo(doc_url, links)
        for link in links:
            self.enqueue(link, depth + 1)
        if doc_url is None or doc_url in self.record.doc_urls:
            return  # noindex, or the same page under another URL
        self._add_document(page, doc_url, "html")

    def _read_document(self, page: Page, requested: str, media_type: str) -> None:
        self.record.current[requested] = PageInfo(page.url, [])
        if page.url not in self.record.doc_urls:
            self._add_document(page, page.url, media_type)

    def _add_document(self, page: Page, doc_url: str, media_type: str) -> None:
        """The page's body as the document at ``doc_url`` (once per crawl), or why it can't be."""
        self.record.doc_urls.add(doc_url)
        doc_id = self.doc_id(doc_url)
        listing = self.record.listing
        listing.present.add(doc_id)
        problem = content_problem(page.content, media_type)
        if problem:
            listing.fail(doc_id, f"{doc_url}: {problem}")
            return
        path = urlsplit(doc_url).path or "/"
        listing.add(
            doc_id,
            self.source.name,
            self.source.sets,
            path,
            doc_url,
            page.content,
            media_type,
            page.etag,
            page.last_modified,
        )

    def _links(self, tree: lxml.html.HtmlElement, base: str) -> list[str]:
        links: list[str] = []
        for anchor in tree.xpath("//a[@href]"):
            if "nofollow" in (anchor.get("rel") or "").lower():
                continue
            target = self.absolute(base, anchor.get("href"))
            if target and target not in links:
                links.append(target)
        return links

    def _canonical_of(self, tree: lxml.html.HtmlElement, url: str) -> str:
        for href in tree.xpath("//link[@rel='canonical']/@href")[:1]:
            target = self.absolute(url, href)
            if target and self.scope.on_site(target):
                return target
        return url
