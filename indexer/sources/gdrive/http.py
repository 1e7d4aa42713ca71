"""google-api-python-client over the connectors' httpx transport, with a service account's token.

googleapiclient takes any object with httplib2's ``request()``; :class:`AuthorizedHttpx` is
one, built on :class:`indexer.sources.api.http.RetryTransport` (retries with Retry-After, the
request and run deadlines, the shutdown stop, the address guard) instead of httplib2, which
has none of them. It signs the service account's JWT with google-auth, exchanges it at the
key's ``token_uri``, adds the access token to each call, and refreshes it once on a 401 (an
expired token).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from bot.logs import register_secrets
from indexer.formats import require
from indexer.sources.api.config import env_value
from indexer.sources.api.http import ApiError, Budget, RetryTransport
from indexer.sources.base import SourceError
from indexer.sources.gdrive.config import SCOPES, GDriveSource

__all__ = ["AuthorizedHttpx", "service_account_info", "TokenRefused"]


class TokenRefused(Exception):
    """Google's token endpoint refused the service account (a deleted key, a disabled account)."""


def service_account_info(source: GDriveSource) -> dict[str, Any]:
    """The service account's JSON key from the file, or the environment; SourceError saying how to fix it."""
    where, text = "", ""
    if source.credentials_file is not None:
        where = f"credentials_file {source.credentials_file}"
        text = _read(source, source.credentials_file, where)
    elif env_value(source.credentials_env):
        where, text = source.credentials_env, env_value(source.credentials_env)
    elif env_value("GOOGLE_APPLICATION_CREDENTIALS"):
        where = "GOOGLE_APPLICATION_CREDENTIALS"
        text = _read(source, Path(env_value("GOOGLE_APPLICATION_CREDENTIALS")), where)
    else:
        raise SourceError(
            f"source {source.name!r}: no service account key: set credentials_file, or {source.credentials_env} "
            "(the JSON key itself); nothing was changed"
        )
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict) or info.get("type") != "service_account" or "private_key" not in info:
        raise SourceError(
            f"source {source.name!r}: {where} is not a service account JSON key (download one under IAM > "
            "Service accounts > Keys); nothing was changed"
        )
    register_secrets(info.get("private_key_id"), *_pem_body_lines(str(info["private_key"])))
    return info


def _pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM key, without its ``-----BEGIN ...-----`` armour: masking the
    armour would mask ordinary words such as "PRIVATE" in every log line."""
    return [line.strip() for line in pem.replace("\\n", "\n").splitlines() if line.strip() and "-----" not in line]


def _read(source: GDriveSource, path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        problem = f"cannot read {where} ({exc.strerror})"
        raise SourceError(f"source {source.name!r}: {problem}; nothing was changed") from None


class _Response(dict[str, str]):
    """httplib2.Response's shape: the headers as a dict (lower-case names) plus ``status``/``reason``."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__({name.lower(): value for name, value in response.headers.items()})
        self.status = response.status_code
        self.reason = response.reason_phrase
        self["status"] = str(response.status_code)


class AuthorizedHttpx:
    """httplib2's ``request()`` for googleapiclient, authorised with a service account."""

    def __init__(self, info: dict[str, Any], budget: Budget, timeout_s: float, retries: int, user_agent: str) -> None:
        service_account = require("google.oauth2.service_account", "gdrive", "the gdrive source")
        self.credentials = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        self.user_agent = user_agent
        self.transport = RetryTransport(budget, timeout_s, retries)
        self.client = httpx.Client(
            transport=self.transport, timeout=httpx.Timeout(timeout_s), headers={"User-Agent": user_agent}
        )

    def request(
        self, uri: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None, **_: Any
    ) -> tuple[_Response, bytes]:
        if not self.credentials.valid:
            self._refresh()
        response = self._send(uri, method, body, headers)
        if response.status_code == 401:  # the access token expired early or was revoked: one new one
            self._refresh()
            response = self._send(uri, method, body, headers)
        return _Response(response), response.content

    def _send(self, uri: str, method: str, body: Any, headers: dict[str, str] | None) -> httpx.Response:
        headers = {
            **(headers or {}),
            "User-Agent": self.user_agent,
            "Authorization": f"Bearer {self.credentials.token}",
        }
        try:
            return self.client.request(method, uri, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach Google ({type(exc).__name__})", transient=True) from None

    def _refresh(self) -> None:
        exceptions = require("google.auth.exceptions", "gdrive", "the gdrive source")
        try:
            self.credentials.refresh(_TokenRequest(self.client))
        except exceptions.RefreshError as exc:
            raise TokenRefused(_refresh_reason(exc)) from None
        except exceptions.TransportError:
            raise ApiError("cannot reach Google's token endpoint", transient=True) from None

    def close(self) -> None:
        self.client.close()


def _refresh_reason(exc: Exception) -> str:
    """The OAuth error code of a refused key (``invalid_grant``), never the request or the key."""
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    return str(details.get("error") or "the token request was refused")


class _TokenRequest:
    """google-auth's transport interface (``google.auth.transport.Request``) over httpx."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        **_: Any,
    ) -> Any:
        exceptions = require("google.auth.exceptions", "gdrive", "the gdrive source")
        try:
            response = self.client.request(method, url, content=body, headers=headers)
        except httpx.TransportError as exc:
            raise exceptions.TransportError(type(exc).__name__) from None
        return _TokenResponse(response)


class _TokenResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.data = response.content
