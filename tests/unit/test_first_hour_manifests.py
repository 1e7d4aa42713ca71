"""The Slack app manifests shipped in deploy/ grant what the code uses, no more and no less."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from adapters.slack.permissions import API_SCOPES, REQUIRED_SCOPES, SLASH_COMMAND, SUBSCRIBED_EVENTS
from tests.support.project import REPO

MANIFESTS = {mode: REPO / "deploy" / f"slack-manifest-{mode}.yaml" for mode in ("http", "socket")}
EVENTS_PATH = "/slack/events"  # the route adapters/slack/server.py serves


def manifest(mode: str) -> dict[str, Any]:
    return yaml.safe_load(MANIFESTS[mode].read_text())


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_the_manifest_grants_exactly_the_scopes_the_code_needs(mode: str) -> None:
    granted = set(manifest(mode)["oauth_config"]["scopes"]["bot"])
    assert granted == set(REQUIRED_SCOPES), (
        f"missing {sorted(REQUIRED_SCOPES - granted)}, not needed {sorted(granted - REQUIRED_SCOPES)}"
    )


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_the_manifest_subscribes_to_exactly_the_events_the_code_handles(mode: str) -> None:
    assert manifest(mode)["settings"]["event_subscriptions"]["bot_events"] == list(SUBSCRIBED_EVENTS)
    assert {"app_mention", "message.im", "message.channels", "message.groups"} <= set(SUBSCRIBED_EVENTS)


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_direct_messages_buttons_and_the_slash_command_are_enabled(mode: str) -> None:
    data = manifest(mode)
    home = data["features"]["app_home"]
    assert home["messages_tab_enabled"] is True and home["messages_tab_read_only_enabled"] is False
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in data["features"]["slash_commands"]] == [SLASH_COMMAND]


def test_socket_mode_manifest_needs_no_public_url() -> None:
    data = manifest("socket")
    assert data["settings"]["socket_mode_enabled"] is True
    assert "://" not in MANIFESTS["socket"].read_text().split("display_information:")[1]


def test_http_manifest_sends_everything_to_the_events_route() -> None:
    data = manifest("http")
    assert data["settings"]["socket_mode_enabled"] is False
    urls = [
        data["settings"]["event_subscriptions"]["request_url"],
        data["settings"]["interactivity"]["request_url"],
        *(c["url"] for c in data["features"]["slash_commands"]),
    ]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls), urls
    assert f'web.post("{EVENTS_PATH}"' in (REPO / "adapters" / "slack" / "server.py").read_text()


def test_every_web_api_method_the_adapter_calls_has_its_scopes_listed() -> None:
    """A new ``client.<method>(...)`` call without its scopes in API_SCOPES fails here."""
    called = set()
    for path in (REPO / "adapters" / "slack").glob("*.py"):
        for name in re.findall(r"client\.(\w+)\(", path.read_text()):
            if "_" in name:  # SDK method names: chat_postMessage -> chat.postMessage
                called.add(name.replace("_", "."))
    assert {"chat.postMessage", "chat.update", "conversations.replies", "users.info"} <= called
    assert called <= set(API_SCOPES), sorted(called - set(API_SCOPES))


def test_the_readme_points_at_the_manifest_files_instead_of_pasting_one() -> None:
    readme = (REPO / "README.md").read_text()
    assert "deploy/slack-manifest-http.yaml" in readme and "deploy/slack-manifest-socket.yaml" in readme
    assert "socket_mode_enabled" not in readme
