"""One sync of a ``slack`` source: list each channel's threads, read the resolved ones that changed.

``conversations.history`` with ``oldest`` lists the parents of the watched window (the last
``watch_days``, reaching back to the previous sync if it is older, and ``lookback_days`` on
the first sync). What a parent shows (text, edit time, reply count, latest reply, repliers,
reactions) is the thread's version: only a thread whose version changed has its replies
read (``conversations.replies``). Threads older than the window are kept as they are; a
thread inside it that is gone, deleted or no longer resolved is deleted. A channel that
cannot be read keeps all its threads. Rate limits (429 + Retry-After), 5xx and dropped
connections are retried by slack-sdk's retry handlers.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.store import DocumentState
from indexer.formats.page import PAGE_MEDIA_TYPE, page_envelope
from indexer.sources.api.config import secret_env_value
from indexer.sources.api.incremental import is_current, keep
from indexer.sources.base import Listing, SourceError
from indexer.sources.slack.config import SlackSource
from indexer.sources.slack.threads import (
    Message,
    accepted_answer,
    fingerprint,
    is_candidate,
    is_own,
    thread_html,
    thread_title,
)

__all__ = ["list_slack"]

_DAY = 86_400.0
_AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}


def list_slack(
    source: SlackSource,
    data_dir: Path,
    known: Mapping[str, DocumentState],
    stop: threading.Event | None = None,
) -> Listing:
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import (
        ConnectionErrorRetryHandler,
        RateLimitErrorRetryHandler,
        ServerErrorRetryHandler,
    )

    token = secret_env_value(source.token_env)
    if not token:
        raise SourceError(
            f"source {source.name!r}: no Slack token in the environment: set {source.token_env} to the bot token "
            "(xoxb-...); nothing was changed"
        )
    client = WebClient(
        token=token,
        base_url=source.base_url,
        timeout=int(max(1, source.timeout_s)),
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=source.retries),
            ServerErrorRetryHandler(max_retry_count=source.retries),
            ConnectionErrorRetryHandler(max_retry_count=source.retries),
        ],
    )
    return _Sync(source, client, data_dir / "slack" / f"{source.name}.json", known, stop).run()


class _Sync:
    def __init__(
        self,
        source: SlackSource,
        client: Any,
        state_path: Path,
        known: Mapping[str, DocumentState],
        stop: threading.Event | None,
    ) -> None:
        self.source = source
        self.client = client
        self.state_path = state_path
        self.known = known
        self.stop = stop or threading.Event()
        self.listing = Listing()
        self.state = _load_state(state_path)
        self.started = time.time()
        self.bot_user = ""
        self.bot_id = ""
        self.experts: set[str] = set()
        self.open_threads: dict[str, dict[str, Any]] = {}  # doc id -> version and time of the last read

    def run(self) -> Listing:
        identity = self._call("auth.test", whole=True)
        self.bot_user, self.bot_id = str(identity.get("user_id", "")), str(identity.get("bot_id", ""))
        for group in self.source.expert_groups:
            self.experts |= set(self._call("usergroups.users.list", whole=True, usergroup=group).get("users", []))
        for channel in self.source.channels:
            if self.stop.is_set():
                raise SourceError(f"source {self.source.name!r}: stopped by shutdown; nothing was deleted")
            try:
                self._channel(channel)
            except _ChannelError as exc:
                self.listing.errors.append(f"channel {channel}: {exc}; its threads are kept as they are")
                self._keep_channel(channel)
        self.state["synced"] = self.started
        self.state["open"] = self.open_threads
        self._save_state()
        return self.listing

    # -- calls -------------------------------------------------------------------------
    def _call(self, method: str, whole: bool = False, **params: Any) -> dict[str, Any]:
        """One Web API call; SourceError for a refused token or (``whole``) any failure, else _ChannelError."""
        from slack_sdk.errors import SlackApiError

        try:
            return dict(self.client.api_call(method, http_verb="POST", params=params).data)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "") or f"HTTP {exc.response.status_code}")
        except Exception as exc:  # URLError, timeouts: slack-sdk retried them already
            error = f"cannot reach Slack ({type(exc).__name__})"
        if error in _AUTH_ERRORS:
            raise SourceError(
                f"source {self.source.name!r}: Slack refused the token ({error}): check {self.source.token_env}; "
                "nothing was changed"
            )
        if whole:
            raise SourceError(f"source {self.source.name!r}: {method} failed ({error}); nothing was changed")
        raise _ChannelError(f"{method} failed ({error})", error)

    def _paged(self, method: str, key: str, **params: Any) -> list[Message]:
        items: list[Message] = []
        cursor = ""
        while True:
            paging: dict[str, Any] = {"cursor": cursor} if cursor else {}
            page = self._call(method, limit=200, **params, **paging)
            items += [item for item in page.get(key, []) if isinstance(item, dict)]
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return items

    # -- one channel -------------------------------------------------------------------
    def _channel(self, channel: str) -> None:
        info = self._call("conversations.info", channel=channel).get("channel") or {}
        if info.get("is_private") and not self.source.explicit_sets:
            raise _ChannelError(
                "is private: index it only with `sets = [...]` written out in the source, naming who may read it"
            )
        name = str(info.get("name") or channel)
        oldest = self._oldest(channel)
        parents = self._paged("conversations.history", "messages", channel=channel, oldest=f"{oldest:.6f}")
        for parent in parents:
            if not is_own(parent, self.bot_user, self.bot_id) and is_candidate(parent):
                self._thread(channel, name, parent)
        self._keep_older(channel, oldest)
        self.state.setdefault("channels", {})[channel] = {"oldest": oldest}

    def _oldest(self, channel: str) -> float:
        """Where this sync's listing of ``channel`` starts (Unix time)."""
        lookback = self.started - self.source.lookback_days * _DAY
        watched = self.started - self.source.watch_days * _DAY
        last = self.state.get("synced") if channel in self.state.get("channels", {}) else None
        if last is None:
            return lookback
        return max(lookback, min(watched, float(last) - _DAY))

    def _thread(self, channel: str, name: str, parent: Message) -> None:
        ts = str(parent["ts"])
        doc_id = f"{self.source.name}:{channel}:{ts}"
        version = fingerprint(parent)
        if is_current(self.known, doc_id, version, self.source.sets):
            keep(self.listing, doc_id)
            return
        if doc_id not in self.known and not self._worth_reading(doc_id, version):
            return
        try:
            replies = self._paged("conversations.replies", "messages", channel=channel, ts=ts)[1:]
            answers = accepted_answer(
                parent, replies, self.source.resolved_reaction, self.experts, self.bot_user, self.bot_id
            )
            if not answers:  # open; or only the bot answered, or the marked reply was deleted
                self.open_threads[doc_id] = {"version": version, "checked": self.started}
                return
            permalink = str(self._call("chat.getPermalink", channel=channel, message_ts=ts).get("permalink", ""))
        except _ChannelError as exc:
            if exc.code in ("thread_not_found", "message_not_found"):
                return  # deleted between the listing and the read: not present, so deleted
            self.listing.fail(doc_id, f"#{name} thread {ts}: {exc}")
            return
        title = thread_title(parent)
        self.listing.add(
            doc_id,
            self.source.name,
            self.source.sets,
            f"#{name}/{ts}",
            permalink,
            page_envelope(title, thread_html(parent, answers), [f"#{name}"]),
            PAGE_MEDIA_TYPE,
            etag=version,
            last_modified=ts,
        )

    def _worth_reading(self, doc_id: str, version: str) -> bool:
        """An open thread is read again when its question shows a change, or recheck_hours after the last read."""
        seen = self.state.get("open", {}).get(doc_id)
        if seen is None or seen.get("version") != version:  # a new reply, reaction or edit on the question
            return True
        if self.started - float(seen.get("checked", 0)) >= self.source.recheck_hours * 3600:
            return True
        self.open_threads[doc_id] = seen
        return False

    def _keep_older(self, channel: str, oldest: float) -> None:
        """Threads from before this sync's window stay as they are (only the window is listed)."""
        prefix = f"{self.source.name}:{channel}:"
        for doc_id in self.known:
            if doc_id.startswith(prefix) and doc_id not in self.listing.present:
                if float(doc_id[len(prefix) :]) < oldest:
                    keep(self.listing, doc_id)

    def _keep_channel(self, channel: str) -> None:
        prefix = f"{self.source.name}:{channel}:"
        for doc_id in self.known:
            if doc_id.startswith(prefix):
                self.listing.present.add(doc_id)

    # -- state -------------------------------------------------------------------------
    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.state), encoding="utf-8")
        os.replace(temporary, self.state_path)


class _ChannelError(Exception):
    """One channel (or one thread) could not be read; the others go on. ``code``: Slack's error."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _load_state(path: Path) -> dict[str, Any]:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}  # no state: the first sync's lookback is read again, which is always safe
