"""Build the parts one process uses, and close them in reverse order with one ExitStack.

:func:`build_core` is where the CLI commands and ``serve`` get their :class:`RagCore`, chat
state and :class:`ChatService`; everything opened here (the store, the models' HTTP clients,
the chat state, background threads registered with :meth:`Runtime.on_close`) is closed when
the ``with`` block ends, whatever happened inside it. The store and the models are still
opened on first use (under the core's lock), so ``ragbot ask`` pays only for what it uses and
``serve`` starts while Qdrant is down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType

from bot.chat import ChatService
from bot.chatstate import ChatState, open_chat_state
from bot.config import Settings
from bot.core import RagCore
from bot.embedder import Embedder
from bot.store import Store
from indexer.config import IndexerSettings

__all__ = ["Runtime", "build_core", "chat_service"]


class Runtime:
    """One process's core, chat state and clean-ups."""

    def __init__(self, settings: IndexerSettings) -> None:
        self.settings = settings
        self._stack = ExitStack()
        self._lock = threading.Lock()
        self._state: ChatState | None = None
        self.core = RagCore(settings)
        self._stack.callback(self.core.close)

    @property
    def store(self) -> Store:
        return self.core.store

    @property
    def embedder(self) -> Embedder:
        return self.core.embedder

    def chat_state(self) -> ChatState:
        """Seen events, answers and votes; opened once, on first use, and closed with the rest."""
        with self._lock:
            if self._state is None:
                self._state = open_chat_state(self.settings, self.core.store)
                self._stack.callback(self._state.close)
            return self._state

    def chat_service(self) -> ChatService:
        """What the chat adapters call, with the indexer's admin operations."""
        state = self.chat_state()
        from bot.app.admin import IndexAdmin  # the indexer: not imported by `ragbot ask`

        return ChatService(self.core, state, admin=IndexAdmin(self.settings, self.core, state))

    def on_close(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` when the runtime closes, before what was opened earlier is closed."""
        self._stack.callback(callback)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def build_core(settings: IndexerSettings) -> Runtime:
    """The parts for ``settings``; use it as a context manager (``with build_core(s) as app:``)."""
    return Runtime(settings)


def chat_service(core: RagCore, state: ChatState | None = None) -> ChatService:
    """A ChatService over an existing core, wired as ``serve`` wires it (admin operations
    included when the core's settings describe the sources). The caller closes core and state."""
    settings: Settings = core.settings
    state = state or open_chat_state(settings, core.store)
    from bot.app.admin import IndexAdmin

    admin = IndexAdmin(settings, core, state) if isinstance(settings, IndexerSettings) else None
    return ChatService(core, state, admin=admin)
