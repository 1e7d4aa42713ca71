"""Can each API connector source be read? Its credentials are set, the platform answers and
accepts them, and what the source names (spaces, root pages, folders, channels) is readable.

Each check builds the connector's own client from the source's config (its transport, auth and
environment variables), asks one cheap question per configured object, without retries so a
429 is reported at once instead of waited out, and indexes nothing. Credentials only travel to
the platform: no finding ever holds a value, only the variable's name.
"""

from __future__ import annotations

from typing import Any

from bot.app.doctor.findings import Finding, fail, ok, warn
from bot.logs import redact
from indexer.config import IndexerSettings
from indexer.sources.api.config import env_value, secret_env_value
from indexer.sources.api.http import ApiError, AuthFailed, Budget
from indexer.sources.base import SourceError
from indexer.sources.confluence.config import ConfluenceSource
from indexer.sources.gdrive.config import GDriveSource
from indexer.sources.notion.config import NotionSource
from indexer.sources.slack.config import SlackSource

__all__ = ["check_connector"]

CHECK_DEADLINE_S = 60.0  # the whole check of one source; each request also keeps the source's timeout_s
UNREACHABLE_FIX = "check the URL (`base_url`), and that this machine reaches it"
RATE_LIMITED_FIX = "wait a minute and run doctor again; the indexer waits out rate limits and retries"


class _Stop(Exception):
    """Ends a check early with the finding to report."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


def check_connector(source: object, settings: IndexerSettings) -> Finding | None:
    """The finding for a connector source; None if ``source`` is not one (the caller checks it)."""
    agent = settings.crawl.user_agent
    try:
        if isinstance(source, ConfluenceSource):
            return _confluence(source, agent)
        if isinstance(source, NotionSource):
            return _notion(source, agent)
        if isinstance(source, GDriveSource):
            return _gdrive(source, agent)
        if isinstance(source, SlackSource):
            return _slack(source, agent)
    except _Stop as stop:
        return stop.finding
    return None


def _api_failure(check: str, exc: ApiError, platform: str, url: str, credentials: str, fix: str) -> Finding:
    """One line for a failed call: refused credentials, a rate limit, an unreachable or failing server."""
    if isinstance(exc, AuthFailed) or exc.status in (401, 403):
        return fail(check, f"{platform} refused the credentials in {credentials} (HTTP {exc.status})", fix)
    if exc.status == 429:
        return warn(check, f"{platform} is rate limiting this machine (HTTP 429)", RATE_LIMITED_FIX)
    if exc.status == 0:
        return fail(check, f"cannot reach {redact(url)} ({exc})", UNREACHABLE_FIX)
    if exc.status == 404:
        return fail(check, f"{platform} answered HTTP 404 under {redact(url)}", "check `base_url`")
    if exc.status >= 500:
        return fail(check, f"{platform} answered HTTP {exc.status}", "the service may be down; try again later")
    return fail(check, f"{platform}: {exc}", "check the source's settings against the README's connector section")


# -- Confluence ----------------------------------------------------------------------------
def _confluence(source: ConfluenceSource, user_agent: str) -> Finding:
    import httpx

    from indexer.sources.api.http import ApiClient
    from indexer.sources.confluence.sync import page_filter

    check = f"source {source.name}"
    headers: dict[str, str] = {}
    auth: httpx.Auth | None = None
    if token := secret_env_value(source.pat_env):
        headers, names = {"Authorization": f"Bearer {token}"}, source.pat_env
    elif env_value(source.email_env) and secret_env_value(source.token_env):
        auth = httpx.BasicAuth(env_value(source.email_env), secret_env_value(source.token_env))
        names = f"{source.email_env} and {source.token_env}"
    else:
        missing = " and ".join(name for name in (source.email_env, source.token_env) if not env_value(name))
        return fail(
            check,
            f"no Confluence credentials: {missing} not set (nor {source.pat_env})",
            f"set {source.email_env} and {source.token_env} (an API token from id.atlassian.com > Security > "
            f"API tokens) or, on Data Center, {source.pat_env} (Profile > Personal access tokens)",
        )
    client = ApiClient(
        source.base_url, headers, Budget(None, CHECK_DEADLINE_S), source.timeout_s, 0, user_agent, auth=auth
    )
    refused = f"check {names} (expired, revoked or mistyped?), and that the account may read the spaces"
    # The indexer's own CQL, one space at a time so that a missing one can be named.
    queries = [(f"space {key}", page_filter(source.model_copy(update={"spaces": [key]}))) for key in source.spaces]
    if not source.spaces:
        queries = [("the `cql` filter", page_filter(source))]
    try:
        for what, cql in queries:
            try:
                found = client.get_json("/rest/api/content/search", params={"cql": cql, "limit": 1})
            except ApiError as exc:
                raise _Stop(_api_failure(check, exc, "Confluence", source.base_url, names, refused)) from None
            if not found.get("results"):
                where = "the space key (Space settings > Overview)" if source.spaces else "the `cql` filter"
                return fail(check, f"{what}: no page this account can read", f"check {where} and the account's access")
    finally:
        client.close()
    readable = f"{len(queries)} space(s) have pages" if source.spaces else "the `cql` filter selects pages"
    return ok(check, f"Confluence accepts {names}; {readable}")


# -- Notion --------------------------------------------------------------------------------
def _notion(source: NotionSource, user_agent: str) -> Finding:
    import httpx
    import notion_client

    from indexer.sources.api.http import RetryTransport
    from indexer.sources.notion.calls import call

    check = f"source {source.name}"
    token = secret_env_value(source.token_env)
    if not token:
        return fail(
            check,
            f"no Notion token: {source.token_env} is not set",
            f"set {source.token_env} to the integration's secret (notion.so/profile/integrations > your "
            "integration > Internal Integration Secret)",
        )
    transport = RetryTransport(Budget(None, CHECK_DEADLINE_S), source.timeout_s, 0)
    http = httpx.Client(transport=transport, headers={"User-Agent": user_agent})
    client = notion_client.Client(
        auth=token, base_url=source.base_url, timeout_ms=int(source.timeout_s * 1000), client=http
    )
    refused = f"check {source.token_env} (revoked or mistyped?) and that the integration has `Read content`"
    objects: list[tuple[str, str, Any, str]] = [
        ("page", page, client.pages.retrieve, "page_id") for page in source.root_pages
    ]
    objects += [("database", db, client.databases.retrieve, "database_id") for db in source.databases]
    try:
        for kind, object_id, method, key in objects:
            try:
                found = call(method, **{key: object_id})
            except ApiError as exc:
                if exc.status == 404:
                    return fail(
                        check,
                        f"{kind} {object_id} is not shared with the integration (or does not exist)",
                        "open it in Notion, ••• > Connections, and add the integration",
                    )
                raise _Stop(_api_failure(check, exc, "Notion", source.base_url, source.token_env, refused)) from None
            if found.get("in_trash") or found.get("archived"):
                return fail(check, f"{kind} {object_id} is in the trash", "restore it, or drop it from the source")
    finally:
        http.close()
    return ok(check, f"Notion accepts {source.token_env}; {len(objects)} root page(s)/database(s) readable")


# -- Google Drive --------------------------------------------------------------------------
def _gdrive(source: GDriveSource, user_agent: str) -> Finding:
    from indexer.formats import require
    from indexer.sources.gdrive.http import AuthorizedHttpx, TokenRefused, service_account_info

    discovery = require("googleapiclient.discovery", "gdrive", "the gdrive source")
    errors = require("googleapiclient.errors", "gdrive", "the gdrive source")

    check = f"source {source.name}"
    key = "credentials_file" if source.credentials_file else source.credentials_env
    if not source.credentials_file and not env_value(source.credentials_env):
        key = "GOOGLE_APPLICATION_CREDENTIALS"
    if not source.credentials_file and not env_value(source.credentials_env) and not env_value(key):
        return fail(
            check,
            f"no service account key: neither credentials_file nor {source.credentials_env} is set",
            f"set {source.credentials_env} to the JSON key (Google Cloud console > IAM > Service accounts > "
            "Keys > Add key > JSON), or credentials_file to its path",
        )
    try:
        info = service_account_info(source)
    except SourceError as exc:
        reason = str(exc).removeprefix(f"source {source.name!r}: ").removesuffix("; nothing was changed")
        return fail(check, reason, f"fix {key}")
    http = AuthorizedHttpx(info, Budget(None, CHECK_DEADLINE_S), source.timeout_s, 0, user_agent)
    base = (source.base_url or "").rstrip("/")
    options = {"api_endpoint": f"{base}/drive/v3/"} if base else None
    drive = discovery.build("drive", "v3", http=http, client_options=options, static_discovery=True)
    account = str(info.get("client_email", "the service account"))
    refused = f"check {key} (a deleted key or a disabled account?); a new key: IAM > Service accounts > Keys"
    folders = [*source.folders, *([source.shared_drive] if source.shared_drive else [])]
    try:
        for folder in folders:
            params: dict[str, Any] = {"q": f"'{folder}' in parents and trashed = false", "pageSize": 1}
            params |= {"fields": "files(id)", "supportsAllDrives": True, "includeItemsFromAllDrives": True}
            if source.shared_drive:
                params |= {"corpora": "drive", "driveId": source.shared_drive}
            try:
                drive.files().list(**params).execute(num_retries=0)
            except errors.HttpError as exc:
                status = int(exc.resp.status)
                if status == 404:
                    return fail(
                        check,
                        f"folder {folder} not found, or not shared with {account}",
                        f"share it with {account} as a Viewer (or add the account to the shared drive)",
                    )
                failure = ApiError(f"HTTP {status}", status, transient=status >= 500)
                raise _Stop(_api_failure(check, failure, "Google", base or "googleapis.com", key, refused)) from None
            except TokenRefused as exc:
                return fail(check, f"Google refused the service account key in {key} ({exc})", refused)
            except ApiError as exc:
                raise _Stop(_api_failure(check, exc, "Google", base or "googleapis.com", key, refused)) from None
    finally:
        http.close()
    return ok(check, f"Google accepts the key in {key}; {len(folders)} folder(s)/drive(s) readable by {account}")


# -- Slack ---------------------------------------------------------------------------------
_SLACK_REFUSED = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}


def _slack(source: SlackSource, user_agent: str) -> Finding:
    from slack_sdk import WebClient

    check = f"source {source.name}"
    variable = source.token_env
    token = secret_env_value(variable)
    if not token:
        return fail(
            check,
            f"no Slack token: {variable} is not set",
            f"set {variable} to the Bot User OAuth Token (xoxb-...) from your Slack app's OAuth & Permissions page",
        )
    client = WebClient(token=token, base_url=source.base_url, timeout=int(max(1, source.timeout_s)), retry_handlers=[])
    client.headers["User-Agent"] = user_agent

    def ask(method: str, what: str, **params: Any) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError

        try:
            response: Any = client.api_call(method, http_verb="POST", params=params)
            return dict(response.data)
        except SlackApiError as exc:
            status, error = exc.response.status_code, str(exc.response.get("error", "") or "")
        except Exception as exc:  # URLError, timeouts
            raise _Stop(
                fail(
                    check,
                    f"cannot reach {redact(source.base_url)} ({type(exc).__name__})",
                    UNREACHABLE_FIX,
                )
            ) from None
        if status == 429 or error == "ratelimited":
            raise _Stop(warn(check, "Slack is rate limiting this machine (HTTP 429)", RATE_LIMITED_FIX))
        if error in _SLACK_REFUSED:
            raise _Stop(
                fail(
                    check,
                    f"Slack refused the token in {variable} ({error})",
                    f"copy the Bot User OAuth Token "
                    f"(xoxb-...) from your Slack app's OAuth & Permissions page into {variable}",
                )
            )
        if error in ("channel_not_found", "not_in_channel"):
            raise _Stop(fail(check, f"{what}: {error}", "invite the bot to the channel (/invite @your-bot)"))
        if error == "missing_scope":
            raise _Stop(fail(check, f"{what}: missing_scope", "add channels:history and groups:history, reinstall"))
        raise _Stop(fail(check, f"{what} failed ({error or f'HTTP {status}'})", "check the source's `channels`"))

    ask("auth.test", "auth.test")
    for channel in source.channels:
        info = ask("conversations.info", f"channel {channel}", channel=channel).get("channel") or {}
        if info.get("is_private") and not source.explicit_sets:
            return fail(
                check,
                f"channel {channel} is private: the indexer skips it",
                "write `sets = [...]` in the source, naming who may read its threads",
            )
        ask("conversations.history", f"channel {channel}", channel=channel, limit=1)
    return ok(check, f"Slack accepts {variable}; {len(source.channels)} channel(s) readable")
