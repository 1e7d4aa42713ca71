"""Run history: one JSON line per source per indexing pass, under the data dir."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.admin import RunRecord
from bot.logs import redact

__all__ = ["SourceReport", "RunLog"]


@dataclass
class SourceReport:
    name: str
    fetched: int = 0  # documents read, or confirmed unchanged by the source (HTTP 304)
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    failed_documents: int = 0  # documents that exist but could not be read or parsed (old version kept)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. max_pages reached, crawl trap caps
    failed: bool = False  # the source as a whole could not be indexed
    complete: bool = True  # the listing was complete, so vanished documents were deleted
    started_at: str = ""
    finished_at: str = ""
    # Seconds and shares per stage (indexer.stages): for `ragbot index --profile`, not the history.
    stages: dict[str, float] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        return self.record().to_json()

    def summary(self) -> str:
        """One line for chat and logs (worded once, by :meth:`bot.admin.RunRecord.summary`)."""
        return self.record().summary()

    def record(self) -> RunRecord:
        """This run as the run history and the status report see it."""
        return RunRecord(
            name=self.name,
            status="failed" if self.failed else "ok" if self.complete and not self.errors else "partial",
            fetched=self.fetched,
            added=self.added,
            updated=self.updated,
            deleted=self.deleted,
            unchanged=self.unchanged,
            failed=self.failed_documents,
            chunks_embedded=self.chunks_embedded,
            errors=list(self.errors),
            warnings=list(self.warnings),
            complete=self.complete,
            started_at=self.started_at,
            finished_at=self.finished_at,
        )


class RunLog:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "runs.jsonl"

    def append(self, report: SourceReport) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:  # errors quote servers: redacted on disk too
            handle.write(redact(json.dumps(report.to_json())) + "\n")

    def records(self) -> list[dict[str, Any]]:
        """Every run, oldest first."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(_upgrade(json.loads(line)))
            except json.JSONDecodeError:
                continue  # a line cut by a crash
        return records

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """The newest run of each source."""
        return {record["name"]: record for record in self.records()}

    def recent(self, count: int = 10) -> list[dict[str, Any]]:
        """The newest ``count`` runs, newest first."""
        return self.records()[-count:][::-1]


def _upgrade(record: dict[str, Any]) -> dict[str, Any]:
    """Records written before run status existed had ``failed`` as a bool for the whole source."""
    if isinstance(record.get("failed"), bool):
        record.setdefault("status", "failed" if record["failed"] else "ok")
        record["failed"] = 0
    record.setdefault("fetched", 0)
    record.setdefault("warnings", [])
    return record
