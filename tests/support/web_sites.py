"""A web source over the test docs site (support/docsite.py) and what its crawl indexed."""

from __future__ import annotations

from pathlib import Path

from bot.app.settings import AppSettings, load_settings
from bot.store import open_store
from tests.support.docsite import DocsSite
from tests.support.project import write_config

INDEXED = {
    "/index.html",
    "/guide/intro.html",
    "/guide/deploy.html",
    "/guide/oncall.html",
    "/reference/api.html",
    "/retired.html",  # only in the sitemap
    "/slow.html",
}


def web_settings(tmp_path: Path, site: DocsSite, extra: str = "", crawl: str = "") -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
{crawl}
[[sources]]
name = "docs"
type = "web"
urls = ["{site.url}/index.html"]
concurrency = 3
timeout_s = 2
retries = 1
max_bytes = 200000
{extra}
""",
        )
    )


def paths(settings: AppSettings) -> set[str]:
    return {"/" + url.split("/", 3)[3] for url in _urls(settings)}


def _urls(settings: AppSettings) -> list[str]:
    store = open_store(settings)
    try:
        states = store.document_states("docs")
        assert all(state.consistent for state in states.values())
        return [doc_id.split(":", 1)[1] for doc_id in states]
    finally:
        store.close()
