"""Crawl one ``web`` source: robots.txt, sitemaps, then links, breadth first, a few at a time.

What the crawl may delete is decided here: the listing is ``complete`` only when no page
failed for a reason that may pass (5xx, timeouts) and neither ``max_pages`` nor
``run_deadline_s`` cut it short. Problems that will be the same next time (a malformed
link, a malformed answer, a crawl-trap cap) are reported but leave the listing complete:
otherwise one bad link would block every deletion for ever.
Unchanged pages answer 304 without a body, so the links each page had are kept in a small
state file under the data dir (``crawl_state.py``) and followed again when the page itself is
not re-read. robots.txt and sitemaps are read by ``site_rules.py``.

Nothing a site sends may end the run of the other sources: every failure is caught at the
page it belongs to, and a stop (shutdown) or the run deadline ends fetches in flight.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from bot.store import DocumentState
from indexer.config import CrawlConfig, WebSource
from indexer.sources.base import Listing, SourceError
from indexer.sources.files import content_problem
from indexer.sources.web.crawl_state import PageInfo, load_state, save_state
from indexer.sources.web.fetch import Fetcher, FetchError, Page
from indexer.sources.web.site_rules import SiteRules
from indexer.sources.web.transport import Budget, Interrupted
from indexer.sources.web.traps import TrapGuard
from indexer.sources.web.urls import BadURL, Scope, absolute, canonical, looks_like_asset

__all__ = ["list_web"]

log = logging.getLogger(__name__)

_MAX_WARNING_LINES = 10  # per kind, so a site full of junk cannot flood the run record


@dataclass
class _Result:
    url: str
    depth: int
    page: Page | None = None
    error: FetchError | None = None


def list_web(
    source: WebSource,
    *,
    crawl: CrawlConfig,
    data_dir: Path,
    max_file_bytes: int,
    known: Mapping[str, DocumentState],
    stop: threading.Event | None = None,
) -> Listing:
    """What the site holds now; ``stop`` (shutdown) ends the crawl and its fetches in flight.

    ``crawl`` is shared by every web source; the crawl state (what each page linked to) is kept
    under ``data_dir``; ``max_file_bytes`` caps a body unless the source sets ``max_bytes``."""
    try:
        scope = Scope(source.urls, source.include, source.exclude)
    except BadURL as exc:
        raise SourceError(f"source {source.name!r}: a start URL cannot be fetched ({exc}); fix `urls`") from None
    crawler = _Crawler(
        source,
        crawl=crawl,
        state_path=data_dir / "crawl" / f"{source.name}.json",
        max_bytes=source.max_bytes or max_file_bytes,
        known=known,
        scope=scope,
        budget=Budget(stop, source.run_deadline_s),
    )
    try:
        return crawler.run()
    finally:
        crawler.close()


class _Crawler:
    def __init__(
        self,
        source: WebSource,
        *,
        crawl: CrawlConfig,
        state_path: Path,
        max_bytes: int,
        known: Mapping[str, DocumentState],
        scope: Scope,
        budget: Budget,
    ) -> None:
        self.source = source
        self.known = known
        self.scope = scope
        self.budget = budget
        self.max_bytes = max_bytes
        self.fetcher = Fetcher(
            self.scope,
            user_agent=crawl.user_agent,
            deny_networks=crawl.deny_networks,
            timeout_s=source.timeout_s,
            retries=source.retries,
            max_bytes=self.max_bytes,
            concurrency=source.concurrency,
            page_deadline_s=source.page_deadline_s,
            budget=budget,
        )
        self.rules = SiteRules(
            source,
            fetcher=self.fetcher,
            scope=scope,
            user_agent=crawl.user_agent,
            max_bytes=max_bytes,
            absolute=self._absolute,
        )
        self.state_path = state_path
        self.previous = load_state(self.state_path)
        self.current: dict[str, PageInfo] = {}
        self.listing = Listing()
        self.seen: set[str] = set()
        self.doc_urls: set[str] = set()
        self.frontier: deque[tuple[str, int]] = deque()
        self.start_urls: set[str] = set()
        self.started = 0
        self.robots_skipped = 0
        self.traps = TrapGuard(source.max_pages_per_pattern, source.max_query_variants)
        self.bad_links: Counter[str] = Counter()  # why -> how many malformed links were skipped
        self.cut_short = ""  # why the crawl stopped with pages left: max_pages or run_deadline_s

    def close(self) -> None:
        self.fetcher.close()

    # -- the crawl ---------------------------------------------------------------------
    def run(self) -> Listing:
        starts = [canonical(url) for url in self.source.urls]  # checked by Scope already
        for url in starts:
            self.rules.load(url)  # raises SourceError if the site is down
        for url in starts:
            self._enqueue(url, 0)
        self.start_urls = {url for url, _ in self.frontier}
        if not self.start_urls:
            raise SourceError(
                f"source {self.source.name!r}: robots.txt or the include/exclude patterns rule out every start page "
                "(set robots = false for an intranet site that disallows all crawlers)"
            )
        for url in self.rules.sitemap_pages(self.listing):
            self._enqueue(url, 0)
        start_ok = self._crawl()
        if self.budget.stop.is_set():
            raise SourceError(
                f"source {self.source.name!r}: stopped by shutdown before the crawl finished; nothing was "
                "deleted, and the next run finishes the job"
            )
        if not start_ok:
            first = next((e for e in self.listing.errors), "no start page could be fetched")
            raise SourceError(
                f"source {self.source.name!r}: no start page could be fetched ({first}); nothing was deleted"
            )
        self._report_cut_short()
        self.listing.warnings += self.traps.warnings() + self._bad_link_warnings()
        if self.robots_skipped:
            log.info("%s: %d URLs disallowed by robots.txt", self.source.name, self.robots_skipped)
        save_state(self.state_path, self.current)
        return self.listing

    def _report_cut_short(self) -> None:
        """max_pages or run_deadline_s left pages unread: a warning, and nothing may be deleted."""
        if not self.cut_short:
            return
        self.listing.complete = False
        if self.cut_short == "max_pages":
            self.listing.warnings.append(
                f"stopped at max_pages={self.source.max_pages} with {len(self.frontier)} pages not reached; "
                "nothing was deleted (raise max_pages to crawl the whole site, or exclude what it should skip)"
            )
        else:
            self.listing.warnings.append(
                f"stopped at run_deadline_s={self.source.run_deadline_s:g} after {self.started} pages, with "
                f"{len(self.frontier)} not reached; nothing was deleted (raise run_deadline_s, or look for slow pages)"
            )

    def _bad_link_warnings(self) -> list[str]:
        lines = [
            f"skipped {count} malformed link(s): {why}; fix them on the site (they cannot be fetched)"
            for why, count in self.bad_links.most_common(_MAX_WARNING_LINES)
        ]
        if len(self.bad_links) > _MAX_WARNING_LINES:
            rest = sum(self.bad_links.values()) - sum(c for _, c in self.bad_links.most_common(_MAX_WARNING_LINES))
            lines.append(f"skipped {rest} more malformed link(s) for other reasons")
        return lines

    def _crawl(self) -> bool:
        """Fetch until the frontier is empty or max_pages is reached; True if a start page was read."""
        start_ok = False
        in_flight: dict[Future[_Result], str] = {}
        delay = self.rules.crawl_delay()
        concurrency = 1 if delay else self.source.concurrency  # a Crawl-delay means one request at a time
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="crawl") as pool:
            while self.frontier or in_flight:
                while self.frontier and len(in_flight) < concurrency and self._may_start(delay):
                    url, depth = self.frontier.popleft()
                    self.started += 1
                    in_flight[pool.submit(self._fetch, url, depth)] = url
                if not in_flight:
                    break  # max_pages, the run deadline or a stop, with pages left in the frontier
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    url = in_flight.pop(future)
                    ok = self._handle_safely(future.result())
                    start_ok = start_ok or (ok and url in self.start_urls)
        return start_ok

    def _may_start(self, delay: float) -> bool:
        """Whether another fetch may start now (after robots.txt's Crawl-delay, if any)."""
        if self.started >= self.source.max_pages:
            self.cut_short = "max_pages"
            return False
        try:
            if delay and self.started:
                self.budget.sleep(delay)
            self.budget.check()
        except Interrupted:
            self.cut_short = self.cut_short or "run_deadline_s"  # or a stop: run() raises for that
            return False
        return True

    def _handle_safely(self, result: _Result) -> bool:
        """_handle, with a page that breaks it (an lxml or a crawler bug) recorded as that page's failure."""
        try:
            return self._handle(result)
        except Exception as exc:
            log.exception("%s: unexpected failure on %s", self.source.name, result.url)
            self.listing.fail(self._doc_id(result.url), f"{result.url}: skipped: unexpected failure ({exc!r})")
            return False

    def _fetch(self, url: str, depth: int) -> _Result:
        etag, last_modified = self._validators(url)
        try:
            return _Result(url, depth, page=self.fetcher.get(url, etag, last_modified, follow=False))
        except FetchError as exc:
            return _Result(url, depth, error=exc)
        except Exception as exc:  # a library bug must cost this page, not the crawl
            log.exception("%s: unexpected failure fetching %s", self.source.name, url)
            return _Result(url, depth, error=FetchError(f"unexpected failure ({exc!r})", transient=False))

    def _validators(self, url: str) -> tuple[str, str]:
        """Ask "changed since?" only for pages stored whole whose links we still know."""
        info = self.previous.get(url)
        if info is None or info.doc_url is None:
            return "", ""
        state = self.known.get(self._doc_id(info.doc_url))
        if state is None or not state.consistent or state.sets != frozenset(self.source.sets):
            return "", ""
        return state.etag, state.last_modified

    def _handle(self, result: _Result) -> bool:
        """Record one fetch in the listing; True if the page was read or confirmed unchanged."""
        url, listing = result.url, self.listing
        previous = self.previous.get(url)
        if result.error is not None:
            doc_id = self._doc_id(previous.doc_url if previous and previous.doc_url else url)
            listing.fail(doc_id, f"{url}: {result.error}")
            if result.error.transient:
                listing.complete = False
            self._follow_known_links(url, result.depth)
            return False
        page = result.page
        assert page is not None
        if page.location is not None:  # a redirect is a link that counts as the same hop
            self.current[url] = PageInfo(None, [page.location])
            if url in self.start_urls:
                self.start_urls.add(page.location)
            self._enqueue(page.location, result.depth)
            return False
        if page.status == 304 and previous is not None and previous.doc_url:
            doc_id = self._doc_id(previous.doc_url)
            if doc_id not in listing.present:
                listing.present.add(doc_id)
                listing.not_modified.add(doc_id)
                listing.fetched += 1
            self._follow_known_links(url, result.depth)
            return True
        if page.status in (404, 410):
            gone_url = previous.doc_url if previous and previous.doc_url else url
            listing.gone.add(self._doc_id(gone_url))
            if url in self.start_urls:
                listing.errors.append(f"{url}: HTTP {page.status}; check `urls` in the config")
            return False
        if page.status != 200:
            doc_id = self._doc_id(previous.doc_url if previous and previous.doc_url else url)
            listing.fail(doc_id, f"{url}: HTTP {page.status}")
            self._follow_known_links(url, result.depth)
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
            self.listing.fail(self._doc_id(page.url), f"{requested}: cannot parse HTML ({exc})")
            return
        base = tree.base_url or page.url
        for href in tree.xpath("//base/@href")[:1]:
            base = self._absolute(page.url, href) or page.url
        robots_meta = " ".join(tree.xpath("//meta[@name='robots']/@content")).lower()
        links = [] if "nofollow" in robots_meta else self._links(tree, base)
        doc_url = None if "noindex" in robots_meta else self._canonical_of(tree, page.url)
        self.current[requested] = PageInfo(doc_url, links)
        for link in links:
            self._enqueue(link, depth + 1)
        if doc_url is None or doc_url in self.doc_urls:
            return  # noindex, or the same page under another URL
        self._add_document(page, doc_url, "html")

    def _read_document(self, page: Page, requested: str, media_type: str) -> None:
        self.current[requested] = PageInfo(page.url, [])
        if page.url not in self.doc_urls:
            self._add_document(page, page.url, media_type)

    def _add_document(self, page: Page, doc_url: str, media_type: str) -> None:
        """The page's body as the document at ``doc_url`` (once per crawl), or why it can't be."""
        self.doc_urls.add(doc_url)
        doc_id = self._doc_id(doc_url)
        self.listing.present.add(doc_id)
        problem = content_problem(page.content, media_type)
        if problem:
            self.listing.fail(doc_id, f"{doc_url}: {problem}")
            return
        path = urlsplit(doc_url).path or "/"
        self.listing.add(
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

    def _absolute(self, base: str, href: str) -> str | None:
        """absolute(), with a malformed link counted and skipped."""
        try:
            return absolute(base, href)
        except BadURL as exc:
            self.bad_links[str(exc)] += 1
            return None

    def _links(self, tree: lxml.html.HtmlElement, base: str) -> list[str]:
        links: list[str] = []
        for anchor in tree.xpath("//a[@href]"):
            if "nofollow" in (anchor.get("rel") or "").lower():
                continue
            target = self._absolute(base, anchor.get("href"))
            if target and target not in links:
                links.append(target)
        return links

    def _canonical_of(self, tree: lxml.html.HtmlElement, url: str) -> str:
        for href in tree.xpath("//link[@rel='canonical']/@href")[:1]:
            target = self._absolute(url, href)
            if target and self.scope.on_site(target):
                return target
        return url

    def _follow_known_links(self, url: str, depth: int) -> None:
        """A page not re-read this time: keep what we knew of it and follow its old links."""
        previous = self.previous.get(url)
        if previous is None:
            return
        self.current[url] = previous
        for link in previous.links:
            self._enqueue(link, depth + 1)

    def _enqueue(self, url: str, depth: int) -> None:
        """Queue a URL once; links found on pages (depth > 0) must pass the crawl-trap caps."""
        if url in self.seen or depth > self.source.max_depth:
            return
        if not self.scope.allows(url) or looks_like_asset(url):
            return
        self.seen.add(url)
        if not self.traps.admit(url, exempt=depth == 0):
            return
        if not self.rules.allows(url):
            self.robots_skipped += 1
            return
        self.frontier.append((url, depth))

    def _doc_id(self, url: str) -> str:
        return f"{self.source.name}:{url}"
