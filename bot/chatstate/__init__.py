"""Chat state shared by every replica of the bot: SQLite on one machine, Qdrant across machines."""

from __future__ import annotations

from bot.chatstate.base import ChatState, FeedbackRecord
from bot.chatstate.questions import QuestionRecord
from bot.chatstate.sqlite import SqliteChatState
from bot.config import Settings
from bot.store import Store

__all__ = ["ChatState", "FeedbackRecord", "QuestionRecord", "SqliteChatState", "open_chat_state"]


def open_chat_state(settings: Settings, store: Store) -> ChatState:
    """Beside the index on its Qdrant server when replicas on other machines share that store
    (they must agree on which replica answers), else SQLite on this machine."""
    if store.shared_across_machines:
        from bot.chatstate.qdrant import QdrantChatState

        return QdrantChatState.connect(settings.store, f"{settings.collection}_chat")
    return SqliteChatState(settings.chat.state_dir or settings.data_dir)
