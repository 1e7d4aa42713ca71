"""``type = "gdrive"``: files in Drive ``folders`` (recursively) or a whole ``shared_drive``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import model_validator

from indexer.sources.api.config import ConnectorSource, require_installed

__all__ = ["GDriveSource", "SCOPES"]

# Read-only: the Drive files and the Sheets' cell values. Nothing else is asked for.
SCOPES = ["https://www.googleapis.com/auth/drive.readonly", "https://www.googleapis.com/auth/spreadsheets.readonly"]


class GDriveSource(ConnectorSource):
    """A service account reads the files: share the folders (or add it to the shared drive) as
    a Viewer. Its JSON key comes from ``credentials_file`` or the environment (``credentials_env``
    holding the JSON itself, or GOOGLE_APPLICATION_CREDENTIALS naming a file)."""

    type: Literal["gdrive"]
    folders: list[str] = []  # folder ids (the last part of the folder's URL)
    shared_drive: str | None = None  # a shared drive id: every file in it
    recursive: bool = True  # walk sub-folders
    sheets: bool = True  # index each sheet of a Google Sheet as a table; false: skip spreadsheets
    credentials_file: Path | None = None
    credentials_env: str = "GDRIVE_SERVICE_ACCOUNT_JSON"
    base_url: str | None = None  # another endpoint for the Drive and Sheets APIs (a proxy, a test server)

    @model_validator(mode="after")
    def _something_to_index(self) -> GDriveSource:
        if not self.folders and not self.shared_drive:
            raise ValueError('set `folders = ["<folder id>", ...]` and/or `shared_drive = "<drive id>"`')
        require_installed(("googleapiclient", "google.oauth2"), "gdrive", "gdrive")
        return self
