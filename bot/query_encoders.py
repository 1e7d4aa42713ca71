"""Which query encoder questions go through, and switching it while a process serves.

``ragbot train`` writes ``data_dir/models/active.json`` naming the query encoder to use (or none:
the document encoder). A serving process must pick a new choice up between two questions, without
a restart, and must never put a question through half of a switch. :class:`ActiveQueryEncoder`
keeps that state apart from the embedder, which only knows how to load an encoder folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

__all__ = ["ActiveQueryEncoder", "QueryEncoder", "weights_fingerprint"]

log = logging.getLogger(__name__)


class QueryEncoder:
    """A trained query encoder, loaded: its name and the function that encodes a batch of questions."""

    def __init__(self, name: str, encode: Callable[[list[str]], np.ndarray]) -> None:
        self.name = name
        self.encode = encode


# Loads a query encoder folder as ``name``; the embedder supplies it (its device and precision).
Loader = Callable[[Path, str], QueryEncoder]


class ActiveQueryEncoder:
    """The query encoder ``models/active.json`` names, re-read when that file changes.

    ``pinned`` (see :meth:`pinned_to`): a fixed encoder that never follows ``active.json``, for
    comparing encoders side by side without switching the serving one."""

    def __init__(self, models: Path | None, lock: threading.RLock) -> None:
        self.models = models
        self.current: QueryEncoder | None = None  # None: questions go through the document encoder
        self.stamp: tuple[int, int] | None = None  # (mtime, size) of active.json when last read
        self.pinned = False
        self.on_switch: Callable[[str], None] | None = None  # told the new encoder's name (``base``: none)
        self._lock = lock  # the embedder's load lock: a switch and a model load never interleave

    def get(self, load: Loader, model_name: str, fingerprint: Callable[[], str]) -> QueryEncoder | None:
        """The active encoder, switched here when ``active.json`` changed since the last call.

        A failed switch (another document encoder, a missing folder) raises the first time, so
        ``ask`` and ``eval`` say why; a process that already answers keeps its encoder and logs it."""
        if self.pinned or self.models is None:
            return self.current
        stamp = _stamp(self.models / "active.json")
        if stamp == self.stamp:
            return self.current
        with self._lock:
            if stamp != self.stamp:
                first = self.stamp is None
                try:
                    self._switch(load, model_name, fingerprint)
                except Exception as exc:
                    if first:
                        raise
                    log.error("keeping query encoder %s: %s", self.current.name if self.current else "base", exc)
                self.stamp = stamp
        return self.current

    def forget(self) -> None:
        """Drop the loaded encoder (it was loaded at a precision no longer in use); re-read next time."""
        if not self.pinned:
            self.current, self.stamp = None, None

    def pinned_to(self, encoder: QueryEncoder | None) -> ActiveQueryEncoder:
        """A copy that always answers ``encoder`` (None: the document encoder)."""
        view = ActiveQueryEncoder(self.models, self._lock)
        view.current, view.pinned, view.on_switch = encoder, True, self.on_switch
        return view

    def _switch(self, load: Loader, model_name: str, fingerprint: Callable[[], str]) -> None:
        from bot.train.registry import Registry, check_document_encoder

        assert self.models is not None
        version = Registry(self.models).active()
        if version is None:
            if self.current is not None:
                log.info("questions now go through the document encoder (no trained query encoder active)")
            self.current = None
            self._switched("base")
            return
        if self.current is not None and self.current.name == version.name:
            return
        check_document_encoder(version, model_name, fingerprint())
        self.current = load(version.encoder_path, version.name)
        log.info("questions now go through query encoder %s", version.name)
        self._switched(version.name)

    def _switched(self, name: str) -> None:
        if self.on_switch is not None:
            try:
                self.on_switch(name)
            except Exception as exc:  # recording the switch must never cost the question
                log.warning("could not record query encoder %s: %s", name, exc)


def weights_fingerprint(model_path: str, model_name: str) -> str:
    """A hash of a model folder's weights (a query encoder is only valid beside the document
    encoder it was trained against); for a hub id, with nothing on disk, a hash of the name."""
    digest = hashlib.sha256()
    root = Path(model_path)
    weights = sorted(p for p in root.glob("*") if p.suffix in (".safetensors", ".bin") and p.is_file())
    if not weights:
        digest.update(model_name.encode())
    for path in weights:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _stamp(path: Path) -> tuple[int, int]:
    """When and how big the file last was; (0, 0) when it does not exist."""
    try:
        stat = os.stat(path)
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)
