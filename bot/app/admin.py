"""The root's :class:`bot.admin.AdminOps`: chat admins' reindex and status, done with the indexer."""

from __future__ import annotations

from bot.admin import RunRecord, Status
from bot.app.status import collect_status
from bot.chatstate import ChatState
from bot.core import RagCore
from indexer.config import IndexerSettings
from indexer.runner import run_index

__all__ = ["IndexAdmin"]


class IndexAdmin:
    """Reindex through :func:`indexer.runner.run_index` (its per-source locks keep chat, CLI and
    scheduler runs apart), status through :func:`bot.app.status.collect_status`."""

    def __init__(self, settings: IndexerSettings, core: RagCore, state: ChatState) -> None:
        self.settings = settings
        self.core = core
        self.state = state

    def reindex(self, source: str | None) -> list[RunRecord]:
        names = [self.settings.source(source).name] if source else None
        reports = run_index(self.settings, self.core.store, self.core.embedder, names)
        return [report.record() for report in reports]

    def status(self) -> Status:
        return collect_status(self.settings, self.core.store, self.state)

    def train(self) -> str:
        from bot.app.training import default_options, train

        return train(self.settings, self.core, self.state, default_options(self.settings)).summary()
