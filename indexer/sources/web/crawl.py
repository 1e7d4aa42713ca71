"""Crawl one ``web`` source: robots.txt, sitemaps, then links, breadth first, a few at a time.

What the crawl may delete is decided here: the listing is ``complete`` only when no page
failed for a reason that may pass (5xx, timeouts) and neither ``max_pages`` nor
``run_deadline_s`` cut it short. Problems that will be the same next time (a malformed
link, a malformed answer, a crawl-trap cap) are reported but leave the listing complete:
otherwise one bad link would block every deletion for ever.
Unchanged pages answer 304 without a body, so the links each page had are kept in a small
state file under the data dir (``crawl_state.py``) and followed again when the page itself is
not re-read. robots.txt and sitemaps are read by ``site_rules.py``; what each fetched URL adds
to the listing is decided by ``pages.py``.

Nothing a site sends may end the run of the other sources: every failure is caught at the
page it belongs to, and a stop (shutdown) or the run deadline ends fetches in flight.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from bot.store import DocumentState
from indexer.config import CrawlConfig, WebSource
from indexer.sources.base import Listing, SourceError
from indexer.sources.web.crawl_state import load_state, save_state
from indexer.sources.web.fetch import Fetcher, FetchError
from indexer.sources.web.pages import CrawlRecord, Fetched, PageHandler
from indexer.sources.web.site_rules import SiteRules
from indexer.sources.web.transport import Budget, Interrupted
from indexer.sources.web.traps import TrapGuard
from indexer.sources.web.urls import BadURL, Scope, canonical, looks_like_asset

__all__ = ["list_web"]

log = logging.getLogger(__name__)


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
        self.fetcher = Fetcher(
            self.scope,
            user_agent=crawl.user_agent,
            deny_networks=crawl.deny_networks,
            timeout_s=source.timeout_s,
            retries=source.retries,
            max_bytes=max_bytes,
            concurrency=source.concurrency,
            page_deadline_s=source.page_deadline_s,
            budget=budget,
        )
        self.state_path = state_path
        self.record = CrawlRecord(Listing(), load_state(state_path))
        self.listing = self.record.listing
        self.pages = PageHandler(source, scope=scope, record=self.record, enqueue=self._enqueue)
        self.rules = SiteRules(
            source,
            fetcher=self.fetcher,
            scope=scope,
            user_agent=crawl.user_agent,
            max_bytes=max_bytes,
            absolute=self.pages.absolute,
        )
        self.seen: set[str] = set()
        self.frontier: deque[tuple[str, int]] = deque()
        self.started = 0
        self.robots_skipped = 0
        self.traps = TrapGuard(source.max_pages_per_pattern, source.max_query_variants)
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
        self.record.start_urls = {url for url, _ in self.frontier}
        if not self.record.start_urls:
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
        self.listing.warnings += self.traps.warnings() + self.pages.bad_link_warnings()
        if self.robots_skipped:
            log.info("%s: %d URLs disallowed by robots.txt", self.source.name, self.robots_skipped)
        save_state(self.state_path, self.record.current)
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

    def _crawl(self) -> bool:
        """Fetch until the frontier is empty or max_pages is reached; True if a start page was read."""
        start_ok = False
        in_flight: dict[Future[Fetched], str] = {}
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
                    ok = self.pages.handle(future.result())
                    start_ok = start_ok or (ok and url in self.record.start_urls)
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

    def _fetch(self, url: str, depth: int) -> Fetched:
        etag, last_modified = self._validators(url)
        try:
            return Fetched(url, depth, page=self.fetcher.get(url, etag, last_modified, follow=False))
        except FetchError as exc:
            return Fetched(url, depth, error=exc)
        except Exception as exc:  # a library bug must cost this page, not the crawl
            log.exception("%s: unexpected failure fetching %s", self.source.name, url)
            return Fetched(url, depth, error=FetchError(f"unexpected failure ({exc!r})", transient=False))

    def _validators(self, url: str) -> tuple[str, str]:
        """Ask "changed since?" only for pages stored whole whose links we still know."""
        info = self.record.previous.get(url)
        if info is None or info.doc_url is None:
            return "", ""
        state = self.known.get(self.pages.doc_id(info.doc_url))
        if state is None or not state.consistent or state.sets != frozenset(self.source.sets):
            return "", ""
        return state.etag, state.last_modified

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
