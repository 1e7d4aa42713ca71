"""A fake Google (OAuth token endpoint, Drive API v3, Sheets API v4) on 127.0.0.1, for the gdrive tests.

Shaped on the API references: ``POST /token`` takes a service account's signed JWT (RS256,
checked against the key's public half) and answers an access token, or 400 ``invalid_grant``;
``GET /drive/v3/files`` takes ``q = "'<folder>' in parents and trashed = false"`` and pages by
``pageToken``/``nextPageToken``; ``/files/{id}/export`` and ``/files/{id}?alt=media`` give the
content; ``GET /v4/spreadsheets/{id}`` and ``/values:batchGet`` give sheets and cells. Errors
are ``{"error": {"code", "message", "status"}}``; an expired access token answers 401.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.fake_api import FakeApi, Reply, Request, json_reply

__all__ = ["FakeGoogle", "DriveFile", "FOLDER", "DOC", "SHEET", "PDF", "DOCX"]

FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
SHEET = "application/vnd.google-apps.spreadsheet"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}


@dataclass
class DriveFile:
    id: str
    name: str
    mime: str
    parent: str
    content: Any = b""  # bytes (PDF, DOCX), exported HTML (Docs), {sheet title: rows} (Sheets)
    version: int = 1
    modified: datetime = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    trashed: bool = False
    sheet_ids: dict[str, int] = field(default_factory=dict)


class FakeGoogle(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.email = "ragbot-indexer@acme-docs.iam.gserviceaccount.com"
        self.files: dict[str, DriveFile] = {}
        self.tokens: set[str] = set()
        self.roots: set[str] = set()  # folders shared with the service account
        self._token_numbers = itertools.count(1)
        self._clock = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    # -- what the test uses and changes ------------------------------------------------
    def service_account(self, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return {
            "type": "service_account",
            "project_id": "acme-docs",
            "private_key_id": "0123456789abcdef",
            "private_key": pem.decode(),
            "client_email": self.email,
            "client_id": "100000000000000000001",
            "token_uri": f"{self.url}/token",
        }

    def add(self, file: DriveFile) -> DriveFile:
        self._clock += timedelta(minutes=3)
        file.modified = self._clock
        if file.mime == SHEET:
            file.sheet_ids = {title: 1000 + n for n, title in enumerate(file.content)}
        self.files[file.id] = file
        return file

    def touch(self, file_id: str, content: Any) -> None:
        self._clock += timedelta(hours=2)
        file = self.files[file_id]
        file.content, file.version, file.modified = content, file.version + 1, self._clock

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def content_reads(self) -> list[Request]:
        return self.requests(
            lambda r: r.path.endswith("/export") or r.query.get("alt") == "media" or r.path.startswith("/v4/")
        )

    # -- the API -----------------------------------------------------------------------
    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        body = {"error": {"code": status, "message": message, "status": _STATUS.get(status, "UNAVAILABLE")}}
        return json_reply(body, status, headers)

    def answer(self, request: Request) -> Reply:
        if request.path == "/token":
            return self._token(request)
        if self.token_of(request) not in self.tokens:
            return self.error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        if request.path == "/drive/v3/files":
            return self._list(request)
        if match := re.fullmatch(r"/drive/v3/files/([\w-]+)(/export)?", request.path):
            file = self.files.get(match.group(1))
            if file is None or file.trashed:
                return self.error(404, f"File not found: {match.group(1)}.")
            if match.group(2):
                return Reply(200, file.content.encode(), "text/html; charset=utf-8")
            if request.query.get("alt") == "media":
                return Reply(200, file.content, file.mime)
            return json_reply(self._resource(file))
        if match := re.fullmatch(r"/v4/spreadsheets/([\w-]+)(/values:batchGet)?", request.path):
            file = self.files.get(match.group(1))
            if file is None or file.mime != SHEET:
                return self.error(404, "Requested entity was not found.")
            if not match.group(2):
                sheets = [{"properties": {"sheetId": file.sheet_ids[t], "title": t}} for t in file.content]
                return json_reply({"spreadsheetId": file.id, "sheets": sheets})
            ranges = request.all("ranges")
            values = [{"range": r, "values": file.content[r.strip("'").replace("''", "'")]} for r in ranges]
            return json_reply({"spreadsheetId": file.id, "valueRanges": values})
        return self.error(404, "Not Found")

    def _token(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode()))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not self._signed(form):
            return json_reply({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400)
        token = f"ya29.fake-access-{next(self._token_numbers)}"
        self.tokens.add(token)
        return json_reply({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _signed(self, form: dict[str, str]) -> bool:
        try:
            header, claims, signature = form["assertion"].split(".")
            payload = json.loads(_unb64(claims))
            self.key.public_key().verify(
                _unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except Exception:
            return False
        return payload.get("iss") == self.email

    def _list(self, request: Request) -> Reply:
        match = re.fullmatch(r"'([\w-]+)' in parents and trashed = false", request.query.get("q", ""))
        if match is None:
            return self.error(400, "Invalid Value")
        folder = match.group(1)
        if folder not in self.files and folder not in self.roots:
            return self.error(404, f"File not found: {folder}.")
        children = [self._resource(f) for f in self.files.values() if f.parent == folder and not f.trashed]
        size = min(int(request.query.get("pageSize", 100)), 1000)
        start = int(request.query.get("pageToken", 0))
        page = {"kind": "drive#fileList", "files": children[start : start + size]}
        if start + size < len(children):
            page["nextPageToken"] = str(start + size)
        return json_reply(page)

    def _resource(self, file: DriveFile) -> dict[str, Any]:
        resource = {
            "kind": "drive#file",
            "id": file.id,
            "name": file.name,
            "mimeType": file.mime,
            "modifiedTime": file.modified.isoformat().replace("+00:00", ".000Z"),
            "version": str(file.version),
            "webViewLink": f"https://drive.google.com/file/d/{file.id}/view?usp=drivesdk",
        }
        if isinstance(file.content, bytes):
            resource["size"] = str(len(file.content))
        return resource


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
