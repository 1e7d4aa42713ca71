"""Sources list the documents to index; each returns a listing or raises SourceError."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.store import DocumentState
from indexer.sources.base import DocumentSink, Listing, SourceError, streaming_to

if TYPE_CHECKING:  # indexer.config imports the connectors' models from this package
    from indexer.config import IndexerSettings, SourceConfig

__all__ = ["DocumentSink", "Listing", "SourceError", "list_documents"]


def list_documents(
    source: SourceConfig,
    settings: IndexerSettings,
    known: Mapping[str, DocumentState],
    stop: threading.Event | None = None,
    on_document: DocumentSink | None = None,
) -> Listing:
    """What ``source`` holds now; ``known`` (the stored documents) lets web sources ask "changed since?".

    ``stop`` (set on shutdown) ends a crawl and its fetches in flight. With ``on_document``, each
    document read goes to it at once (on this thread) instead of into ``Listing.documents``.
    """
    with streaming_to(on_document):
        return _list(source, settings, known, stop)


def _list(
    source: SourceConfig, settings: IndexerSettings, known: Mapping[str, DocumentState], stop: threading.Event | None
) -> Listing:
    from indexer.config import FilesSource, GitSource, WebSource
    from indexer.sources.confluence.config import ConfluenceSource
    from indexer.sources.gdrive.config import GDriveSource
    from indexer.sources.notion.config import NotionSource
    from indexer.sources.slack.config import SlackSource

    if isinstance(source, FilesSource):
        from indexer.sources.files import list_files

        return list_files(source, settings.limits.max_file_bytes)
    if isinstance(source, GitSource):
        from indexer.sources.git import list_git

        return list_git(source, data_dir=settings.data_dir, max_file_bytes=settings.limits.max_file_bytes)
    if isinstance(source, WebSource):
        from indexer.sources.web import list_web

        return list_web(
            source,
            crawl=settings.crawl,
            data_dir=settings.data_dir,
            max_file_bytes=settings.limits.max_file_bytes,
            known=known,
            stop=stop,
        )
    if isinstance(source, ConfluenceSource):
        from indexer.sources.confluence.sync import list_confluence

        return list_confluence(source, settings.crawl.user_agent, settings.limits.max_file_bytes, known, stop)
    if isinstance(source, NotionSource):
        from indexer.sources.notion.sync import list_notion

        return list_notion(
            source, settings.crawl.user_agent, settings.data_dir, settings.limits.max_file_bytes, known, stop
        )
    if isinstance(source, SlackSource):
        from indexer.sources.slack.sync import list_slack

        return list_slack(source, settings.data_dir, known, stop)
    if isinstance(source, GDriveSource):
        from indexer.sources.gdrive.sync import list_gdrive

        return list_gdrive(source, settings.crawl.user_agent, settings.limits.max_file_bytes, known, stop)
    raise SourceError(f"source {source.name!r}: unsupported type {source.type!r}")
