"""Versioned query encoders under ``data_dir/models/``: which exist, which one is active.

Layout::

    models/query-<n>/encoder/    the fine-tuned query encoder (a Hugging Face model folder)
    models/query-<n>/meta.json   training config, data counts, held-out metrics, the document
                                 encoder it was trained against
    models/query-<n>.partial/    a run in progress: checkpoints, so an interrupted run resumes
    models/generator-<n>/adapter/  a LoRA adapter for the `transformers` generator (--generator)
    models/active.json           {"query_encoder": "query-<n>" | null, "history": [...],
                                  "generator": "generator-<n>" | null, "generator_history": [...]}

``active.json`` is the one switch every process reads (``ask``, ``eval``, ``serve`` between two
questions); it is replaced atomically, so a reader sees the old or the new choice, never half.
Nothing here imports torch: ``serve`` reads the switch on every question.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import InputError, StoreMismatch

__all__ = [
    "Registry",
    "ModelVersion",
    "KINDS",
    "ACTIVE_FILE",
    "BASE_NAME",
    "check_document_encoder",
    "same_model",
]

ACTIVE_FILE = "active.json"
BASE_NAME = "base"  # no trained query encoder: questions go through the document encoder
# kind -> (folder holding the weights, key in active.json, key of its history there)
KINDS = {"query": ("encoder", "query_encoder", "history"), "generator": ("adapter", "generator", "generator_history")}


@dataclass(frozen=True)
class ModelVersion:
    number: int
    path: Path
    meta: dict[str, Any]
    kind: str = "query"

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.number}"

    @property
    def encoder_path(self) -> Path:
        return self.path / "encoder"


class Registry:
    """The trained query encoders (``kind="query"``) or generator adapters (``"generator"``) of one data dir."""

    def __init__(self, models_dir: Path, kind: str = "query") -> None:
        self.root = models_dir
        self.kind = kind
        self._weights, self._key, self._history = KINDS[kind]
        self._name = re.compile(rf"^{kind}-(\d+)$")

    # -- versions ------------------------------------------------------------------
    def versions(self) -> list[ModelVersion]:
        """Finished versions, oldest first (partial runs are not versions)."""
        found = []
        if self.root.is_dir():
            for path in self.root.iterdir():
                match = self._name.match(path.name)
                if match and (path / "meta.json").is_file() and (path / self._weights).is_dir():
                    found.append(ModelVersion(int(match.group(1)), path, _read_json(path / "meta.json"), self.kind))
        return sorted(found, key=lambda v: v.number)

    def get(self, number: int) -> ModelVersion:
        for version in self.versions():
            if version.number == number:
                return version
        known = ", ".join(v.name for v in self.versions()) or "none yet"
        what = "query encoder" if self.kind == "query" else "generator adapter"
        raise InputError(
            f"no {what} {self.kind}-{number} under {self.root} (trained: {known}); see `ragbot train --list`"
        )

    def by_name(self, name: str) -> ModelVersion:
        match = self._name.match(name)
        if not match:
            raise InputError(f"{name!r} is not a name of the form {self.kind}-<n>")
        return self.get(int(match.group(1)))

    def next_number(self) -> int:
        numbers = [0]
        if self.root.is_dir():
            for path in self.root.iterdir():
                match = self._name.match(path.name.removesuffix(".partial"))
                if match:
                    numbers.append(int(match.group(1)))
        return max(numbers) + 1

    def partial_run(self, fingerprint: str) -> Path:
        """The folder for a run with this fingerprint: an interrupted one with the same fingerprint is
        resumed; otherwise a fresh ``query-<n>.partial`` (older partials of other runs are removed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for path in self.root.glob(f"{self.kind}-*.partial"):
            marker = path / "fingerprint"
            if marker.is_file() and marker.read_text(encoding="utf-8").strip() == fingerprint:
                return path
            shutil.rmtree(path, ignore_errors=True)
        path = self.root / f"{self.kind}-{self.next_number()}.partial"
        path.mkdir()
        (path / "fingerprint").write_text(fingerprint, encoding="utf-8")
        return path

    def publish(self, partial: Path, meta: dict[str, Any]) -> ModelVersion:
        """Turn a finished run into a version: meta written, checkpoints dropped, one rename."""
        name = partial.name.removesuffix(".partial")
        number = int(name.split("-")[1])
        meta = {**meta, "name": name}
        _write_json(partial / "meta.json", meta)
        for leftover in ("checkpoint.pt", "fingerprint"):
            (partial / leftover).unlink(missing_ok=True)
        target = self.root / name
        os.replace(partial, target)
        return ModelVersion(number, target, meta, self.kind)

    def record(self, version: ModelVersion, **fields: Any) -> ModelVersion:
        """Update a version's meta.json (e.g. whether it was activated, and why)."""
        meta = {**version.meta, **fields}
        _write_json(version.path / "meta.json", meta)
        return ModelVersion(version.number, version.path, meta, self.kind)

    # -- the switch ----------------------------------------------------------------
    def _file(self) -> dict[str, Any]:
        path = self.root / ACTIVE_FILE
        return _read_json(path) if path.is_file() else {}

    def state(self) -> dict[str, Any]:
        """{"query_encoder": name | None, "history": [...]} (for generators too: same two keys)."""
        state = self._file()
        return {"query_encoder": state.get(self._key), "history": list(state.get(self._history, []))}

    def active(self) -> ModelVersion | None:
        name = self.state()["query_encoder"]
        return self.by_name(name) if name else None

    def activate(self, version: ModelVersion) -> None:
        state = self.state()
        current = state["query_encoder"]
        if current == version.name:
            return
        self._write_state(version.name, [*state["history"], current or BASE_NAME])

    def rollback(self) -> str:
        """Go back to the version active before the current one; returns its name (``base``: none)."""
        state = self.state()
        if not state["query_encoder"]:
            what = "the base encoder (no trained query encoder)" if self.kind == "query" else "the base generator"
            raise InputError(f"nothing to roll back: {what} is active")
        history = state["history"]
        previous = history.pop() if history else BASE_NAME
        self._write_state(None if previous == BASE_NAME else previous, history)
        return previous

    def _write_state(self, name: str | None, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        state = {**self._file(), self._key: name, self._history: history[-20:]}
        _write_json(self.root / ACTIVE_FILE, state)


def same_model(a: str, b: str) -> bool:
    """``all-MiniLM-L6-v2`` is ``sentence-transformers/all-MiniLM-L6-v2``."""

    def norm(name: str) -> str:
        return name.strip().rstrip("/").removeprefix("sentence-transformers/").lower()

    return norm(a) == norm(b)


def check_document_encoder(
    version: ModelVersion, document_model: str, fingerprint: str, index_model: str | None = None
) -> None:
    """StoreMismatch unless ``version`` was trained against this document encoder.

    A query encoder only makes sense beside the exact document vectors it was trained against:
    the same model name (``index_model``, what the index recorded, and ``document_model``, what this
    process loads) and the same weights (``fingerprint``)."""
    trained_model = str(version.meta.get("document_model", ""))
    trained_print = str(version.meta.get("document_fingerprint", ""))
    fix = "run `ragbot train` again for this index, or `ragbot train --rollback`"
    for model in (index_model, document_model):
        if model and not same_model(trained_model, model):
            where = "the index was built with" if model == index_model else "[embedding] model is"
            raise StoreMismatch(
                f"query encoder {version.name} was trained against the document encoder {trained_model!r}, but "
                f"{where} {model!r}; its questions would not match these document vectors. To fix: {fix}"
            )
    if trained_print and fingerprint and trained_print != fingerprint:
        raise StoreMismatch(
            f"query encoder {version.name} was trained against other weights of {trained_model!r} "
            f"(fingerprint {trained_print}, this process loads {fingerprint}). To fix: {fix}"
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: unreadable ({exc}); remove it or restore it from a backup") from None
    return value if isinstance(value, dict) else {}


def _write_json(path: Path, value: dict[str, Any]) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)
