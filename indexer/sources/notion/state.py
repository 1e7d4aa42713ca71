"""What a notion sync remembers of each page between runs: its title and its child pages.

An unchanged page is not read, so the child pages and databases it had are taken from here;
without this file every page is read in full, which is always safe.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Node", "load_state", "save_state"]


@dataclass
class Node:
    title: str
    children: list[str] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)


def load_state(path: Path) -> dict[str, Node]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {key: Node(str(v["title"]), list(v["children"]), list(v["databases"])) for key, v in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def save_state(path: Path, nodes: dict[str, Node]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {key: node.__dict__ for key, node in sorted(nodes.items())}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(temporary, path)
