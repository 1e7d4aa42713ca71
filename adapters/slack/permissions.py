"""What the Slack app needs from a workspace: the events it handles and the scopes of the Web API
methods it calls, written down once.

The adapter registers its handlers from :data:`SUBSCRIBED_EVENTS`, the start-up check warns
about any of :data:`REQUIRED_SCOPES` the bot token lacks, and ``tests/unit/test_first_hour_manifests.py``
checks that the shipped manifests (``deploy/slack-manifest-*.yaml``) grant exactly these and that
every ``client.<method>(...)`` call in the adapter is listed in :data:`API_SCOPES`.
"""

from __future__ import annotations

__all__ = [
    "API_SCOPES",
    "EVENT_SCOPES",
    "MESSAGE_EVENTS",
    "REQUIRED_SCOPES",
    "SLASH_COMMAND",
    "SUBSCRIBED_EVENTS",
    "missing_scopes",
]

# Bot events: a mention anywhere; follow-ups in threads where the bot answered, in public and
# private channels; direct messages.
SUBSCRIBED_EVENTS: tuple[str, ...] = ("app_mention", "message.channels", "message.groups", "message.im")

# ``message`` events arrive as one Bolt event type; its ``channel_type`` says which subscription
# delivered it.
MESSAGE_EVENTS: dict[str, str] = {"channel": "message.channels", "group": "message.groups", "im": "message.im"}

EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_mention": ("app_mentions:read",),
    "message.channels": ("channels:history",),
    "message.groups": ("groups:history",),
    "message.im": ("im:history",),
}

# Web API methods the adapter calls (as the SDK names them) and the bot scopes they need. A
# thread can be in any kind of conversation, so reading one needs every *:history scope.
API_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),  # app-level token with connections:write, not a bot scope
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),  # [[channels]] ephemeral = true
    "chat.getPermalink": (),  # "Ask a person": the thread's link for the escalation channel
    "chat.update": ("chat:write",),
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "users.info": ("users:read",),
}

# The admin slash command (reindex, status, sets).
SLASH_COMMAND = "/ragbot"
COMMAND_SCOPES: tuple[str, ...] = ("commands",)

REQUIRED_SCOPES: frozenset[str] = frozenset(
    scope for scopes in (*EVENT_SCOPES.values(), *API_SCOPES.values(), COMMAND_SCOPES) for scope in scopes if scope
)


def missing_scopes(granted: str | None) -> list[str]:
    """The required scopes absent from a token's ``X-OAuth-Scopes`` header (comma-separated);
    empty when Slack did not say (the header is missing), so nothing is claimed without evidence."""
    if not granted:
        return []
    have = {scope.strip() for scope in granted.split(",")}
    return sorted(REQUIRED_SCOPES - have)
