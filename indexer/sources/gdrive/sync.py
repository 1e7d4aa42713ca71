"""One sync of a ``gdrive`` source: list the folders, then read the files whose modifiedTime changed.

The listing (``files.list``, ``trashed = false``, every ``nextPageToken`` followed, sub-folders
walked) must succeed whole, or the run fails and nothing is deleted; a trashed or deleted
file drops out of it and is deleted. A file's version is its ``modifiedTime`` and revision
``version``: an unchanged file costs its line in the listing. Changed files are read: Google
Docs exported as HTML, each sheet of a Google Sheet as a table (Sheets API), PDF and Word
files downloaded. A file deleted between the listing and the read (404) is deleted; any
other failure keeps its stored version.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from bot.store import DocumentState
from indexer.formats import DOCX_MIME, require
from indexer.formats.page import PAGE_MEDIA_TYPE, page_envelope
from indexer.sources.api.http import ApiError, Budget, stopped_error
from indexer.sources.api.incremental import is_current, keep
from indexer.sources.base import Listing, SourceError
from indexer.sources.gdrive.config import GDriveSource
from indexer.sources.gdrive.http import AuthorizedHttpx, TokenRefused, service_account_info
from indexer.sources.gdrive.render import doc_html, sheet_html
from indexer.sources.web.transport import Interrupted, Stopped

__all__ = ["list_gdrive"]

_FOLDER = "application/vnd.google-apps.folder"
_DOC = "application/vnd.google-apps.document"
_SHEET = "application/vnd.google-apps.spreadsheet"
_BINARY = {"application/pdf": "pdf", DOCX_MIME: "docx"}
_FIELDS = "nextPageToken, files(id, name, mimeType, modifiedTime, version, size, webViewLink)"


def list_gdrive(
    source: GDriveSource,
    user_agent: str,
    max_file_bytes: int,
    known: Mapping[str, DocumentState],
    stop: threading.Event | None = None,
) -> Listing:
    discovery = require("googleapiclient.discovery", "gdrive", f"source {source.name!r} (type gdrive)")
    http = AuthorizedHttpx(
        service_account_info(source), Budget(stop, source.run_deadline_s), source.timeout_s, source.retries, user_agent
    )
    base = (source.base_url or "").rstrip("/")

    def service(name: str, version: str, path: str) -> Any:
        options = {"api_endpoint": f"{base}/{path}"} if base else None
        return discovery.build(name, version, http=http, client_options=options, static_discovery=True)

    try:
        drive, sheets = service("drive", "v3", "drive/v3/"), service("sheets", "v4", "")
        return _Sync(source, drive, sheets, known, source.max_bytes or max_file_bytes).run()
    finally:
        http.close()


class _Sync:
    def __init__(
        self, source: GDriveSource, drive: Any, sheets: Any, known: Mapping[str, DocumentState], max_bytes: int
    ) -> None:
        self.source = source
        self.drive = drive
        self.sheets = sheets
        self.known = known
        self.max_bytes = max_bytes
        self.listing = Listing()

    def run(self) -> Listing:
        queue: deque[tuple[str, list[str]]] = deque((folder, []) for folder in self.source.folders)
        if self.source.shared_drive:
            queue.append((self.source.shared_drive, []))
        roots, seen = {folder for folder, _ in queue}, set()
        while queue:
            folder, crumbs = queue.popleft()
            if folder in seen:
                continue
            seen.add(folder)
            for item in self._list(folder, folder in roots):
                if item.get("mimeType") == _FOLDER:
                    if self.source.recursive:
                        queue.append((str(item["id"]), crumbs + [str(item.get("name", ""))]))
                else:
                    self._file(item, crumbs)
        return self.listing

    # -- calls -------------------------------------------------------------------------
    def _execute(self, request: Any) -> Any:
        """Run one API request; ApiError(status) for any failure, SourceError for refused credentials."""
        errors = require("googleapiclient.errors", "gdrive", "the gdrive source")
        try:
            return request.execute(num_retries=0)  # the transport retries
        except errors.HttpError as exc:
            status = int(exc.resp.status)
            if status == 401:
                raise self._refused("Google refused the access token (HTTP 401)") from None
            raise ApiError(f"HTTP {status} ({exc.reason})", status, transient=status == 429 or status >= 500) from None
        except TokenRefused as exc:
            raise self._refused(f"Google refused the service account key ({exc})") from None
        except Stopped:
            raise stopped_error() from None
        except Interrupted as exc:
            raise ApiError(f"cut off ({exc})", transient=True) from None

    def _refused(self, why: str) -> SourceError:
        key = "credentials_file" if self.source.credentials_file else self.source.credentials_env
        return SourceError(
            f"source {self.source.name!r}: {why}: check {key} (a deleted key or a disabled service account?); "
            "nothing was changed"
        )

    def _list(self, folder: str, root: bool) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "q": f"'{folder}' in parents and trashed = false",
            "fields": _FIELDS,
            "pageSize": 100,
            "supportsAllDrives": True,
            "includeItemsFromAllDrives": True,
        }
        if self.source.shared_drive:
            params |= {"corpora": "drive", "driveId": self.source.shared_drive}
        items: list[dict[str, Any]] = []
        token = None
        while True:
            try:
                page = self._execute(self.drive.files().list(**params, **({"pageToken": token} if token else {})))
            except ApiError as exc:
                hint = " (not found, or not shared with the service account)" if exc.status == 404 and root else ""
                raise SourceError(
                    f"source {self.source.name!r}: cannot list folder {folder}{hint}: {exc}; nothing was changed"
                ) from None
            items += [item for item in page.get("files", []) if isinstance(item, dict)]
            token = page.get("nextPageToken")
            if not token:
                return items

    # -- files -------------------------------------------------------------------------
    def _file(self, item: dict[str, Any], crumbs: list[str]) -> None:
        mime = str(item.get("mimeType", ""))
        if mime == _SHEET and self.source.sheets:
            self._spreadsheet(item, crumbs)
            return
        if mime != _DOC and mime not in _BINARY:
            return  # images, slides, forms, ...: nothing this source reads
        doc_id = f"{self.source.name}:{item['id']}"
        version = _version(item)
        if is_current(self.known, doc_id, version, self.source.sets):
            keep(self.listing, doc_id)
            return
        self.listing.present.add(doc_id)
        path = "/".join(crumbs + [str(item.get("name", ""))])
        size = int(item.get("size") or 0)
        if size > self.max_bytes:
            self.listing.fail(doc_id, f"{path}: skipped: {size} bytes is over max_bytes = {self.max_bytes}")
            return
        try:
            if mime == _DOC:
                exported = self._execute(self.drive.files().export(fileId=item["id"], mimeType="text/html"))
                content = page_envelope(str(item.get("name", "")), doc_html(exported), crumbs)
                media_type, url = PAGE_MEDIA_TYPE, f"https://docs.google.com/document/d/{item['id']}/edit"
            else:
                content = self._execute(self.drive.files().get_media(fileId=item["id"]))
                media_type, url = _BINARY[mime], _view_url(item)
        except ApiError as exc:
            self._unreadable(doc_id, path, exc)
            return
        if len(content) > self.max_bytes:
            self.listing.fail(doc_id, f"{path}: skipped: {len(content)} bytes is over max_bytes = {self.max_bytes}")
            return
        self.listing.add(
            doc_id, self.source.name, self.source.sets, path, url, content, media_type, version, item["modifiedTime"]
        )

    def _spreadsheet(self, item: dict[str, Any], crumbs: list[str]) -> None:
        prefix = f"{self.source.name}:{item['id']}#gid="
        version = _version(item)
        stored = [doc_id for doc_id in self.known if doc_id.startswith(prefix)]
        if stored and all(is_current(self.known, doc_id, version, self.source.sets) for doc_id in stored):
            for doc_id in stored:
                keep(self.listing, doc_id)
            return
        name = str(item.get("name", ""))
        try:
            meta = self._execute(
                self.sheets.spreadsheets().get(spreadsheetId=item["id"], fields="sheets.properties(sheetId,title)")
            )
            tabs = [sheet["properties"] for sheet in meta.get("sheets", [])]
            ranges = ["'" + str(tab["title"]).replace("'", "''") + "'" for tab in tabs]
            values = self._execute(
                self.sheets.spreadsheets().values().batchGet(spreadsheetId=item["id"], ranges=ranges)
            )
        except ApiError as exc:
            self.listing.present.update(stored)
            self._unreadable(prefix + "0", "/".join(crumbs + [name]), exc)
            return
        for tab, value_range in zip(tabs, values.get("valueRanges", [])):
            doc_id = f"{prefix}{tab['sheetId']}"
            table = sheet_html(value_range.get("values", []))
            if not table:
                continue  # an empty sheet
            content = page_envelope(f"{name}: {tab['title']}", table, crumbs + [name])
            url = f"https://docs.google.com/spreadsheets/d/{item['id']}/edit#gid={tab['sheetId']}"
            path = "/".join(crumbs + [name, str(tab["title"])])
            if len(content) > self.max_bytes:
                self.listing.fail(doc_id, f"{path}: skipped: {len(content)} bytes is over max_bytes = {self.max_bytes}")
                continue
            self.listing.add(
                doc_id,
                self.source.name,
                self.source.sets,
                path,
                url,
                content,
                PAGE_MEDIA_TYPE,
                version,
                item["modifiedTime"],
            )

    def _unreadable(self, doc_id: str, path: str, exc: ApiError) -> None:
        if exc.status == 404:  # deleted (or unshared) between the listing and the read
            self.listing.present.discard(doc_id)
            self.listing.gone.add(doc_id)
        else:
            self.listing.fail(doc_id, f"{path}: {exc}")


def _version(item: dict[str, Any]) -> str:
    return f"{item.get('modifiedTime', '')}#{item.get('version', '')}"


def _view_url(item: dict[str, Any]) -> str:
    link = str(item.get("webViewLink") or f"https://drive.google.com/file/d/{item['id']}/view")
    return link.split("?", 1)[0]
