"""Sources list the documents to index; each returns a complete listing or raises."""

from indexer.sources.base import Listing, SourceError
from indexer.sources.files import list_files

__all__ = ["Listing", "SourceError", "list_files", "list_documents"]


def list_documents(source, max_file_bytes: int) -> Listing:  # type: ignore[no-untyped-def]
    if source.type == "files":
        return list_files(source, max_file_bytes)
    raise SourceError(f"source {source.name!r}: unsupported type {source.type!r}")
