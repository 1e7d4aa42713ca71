"""Where the repository and the sample handbook are, and configs written for a test."""

from __future__ import annotations

from pathlib import Path

from bot.app.settings import AppSettings  # noqa: E402
from bot.embedder import Embedder  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


SAMPLES = REPO / "samples" / "handbook"


BASE_URL = "https://handbook.acme.example/"


def write_config(directory: Path, body: str) -> Path:
    path = directory / "ragbot.toml"
    path.write_text(body, encoding="utf-8")
    return path


def handbook_config(tmp_path: Path, docs: Path, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"
{extra}
[[sources]]
name = "handbook"
type = "files"
path = "{docs}"
base_url = "{BASE_URL}"
""",
    )


def index_once(settings: AppSettings, embedder: Embedder):  # type: ignore[no-untyped-def]
    """One run of the only configured source through the real runner; its SourceReport."""
    from bot.store import open_store
    from indexer.runner import run_index

    store = open_store(settings)
    try:
        (report,) = run_index(settings, store, embedder)
        return report
    finally:
        store.close()
