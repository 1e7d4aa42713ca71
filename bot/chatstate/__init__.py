"""Chat state shared by every replica of the bot: SQLite on one machine, Qdrant across machines."""

from __future__ import annotations

from bot.chatstate.base import ChatState, FeedbackRecord
from bot.chatstate.sqlite import SqliteChatState
from bot.config import Settings
from bot.store import Store

__all__ = ["ChatState", "FeedbackRecord", "SqliteChatState", "open_chat_state"]


def open_chat_state(settings: Settings, store: Store) -> ChatState:
    """Qdrant when the index lives on a Qdrant server (replicas may run anywhere), else SQLite."""
    from bot.store.qdrant import QdrantClientStore

    if isinstance(store, QdrantClientStore) and settings.server_mode:
        from bot.chatstate.qdrant import QdrantChatState

        return QdrantChatState(store.client, f"{settings.collection}_chat")
    return SqliteChatState(settings.chat.state_dir or settings.data_dir)
