"""The ``web`` source: crawl a docs site over HTTP(S)."""

from indexer.sources.web.crawl import list_web

__all__ = ["list_web"]
