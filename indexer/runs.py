"""Run history: one JSON line per source per indexing pass, under the data dir."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SourceReport", "RunLog"]


@dataclass
class SourceReport:
    name: str
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    errors: list[str] = field(default_factory=list)
    failed: bool = False  # the source as a whole could not be indexed
    started_at: str = ""
    finished_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "chunks_embedded": self.chunks_embedded,
            "errors": list(self.errors),
        }


class RunLog:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "runs.jsonl"

    def append(self, report: SourceReport) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(report)) + "\n")

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """The newest run of each source."""
        runs: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return runs
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            runs[record["name"]] = record
        return runs
