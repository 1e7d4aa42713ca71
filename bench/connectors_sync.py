"""Sync cost of the API connectors against their fakes, and what the PDF and Word readers keep.

For each connector (Confluence, Notion, Slack, Google Drive) the fake on 127.0.0.1 is filled
with ``--pages`` pages of real handbook text, then three runs are timed:

1. fetch only: the connector's listing and reads (``list_documents``), no embedding;
2. a full sync: the real runner, embedder and embedded Qdrant, into an empty index;
3. a sync with no changes: the same again.

Fetch share (1 / 2) says whether a full sync is fetch-bound or embed-bound; the no-change
sync is reported as a percent of the full one, in time and in requests (goal: under 5%).
Notion runs at its real limit of 3 requests a second, the others as fast as the fake answers.
Then the PDF and Word readers run over real files (the PDFs Debian ships under /usr/share/doc,
and generated Word files) and report what they kept.

    .venv/bin/python bench/connectors_sync.py                 # --pages 100
    .venv/bin/python bench/connectors_sync.py --only slack --pages 50
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import machine  # noqa: E402

CONFIG_HEAD = 'data_dir = "{data}"\n[[sources]]\nname = "bench"\n'


def paragraphs() -> list[str]:
    """Real prose: the sample handbook's paragraphs."""
    found: list[str] = []
    for path in sorted((REPO / "samples" / "handbook").glob("*.md")):
        found += [p.strip() for p in path.read_text().split("\n\n") if len(p.strip()) > 80 and not p.startswith("#")]
    return found


def page_text(number: int, pool: list[str]) -> tuple[str, list[str]]:
    rng = random.Random(number)
    return f"Topic {number}", rng.sample(pool, 4)


# -- one fake per connector: (fake, config lines, environment, edit one page) ---------------
def confluence(n: int, pool: list[str]) -> tuple[Any, str, dict[str, str]]:
    from tests.support.fake_confluence import FakeConfluence, Page

    fake = FakeConfluence()
    fake.valid_tokens = {"bench@acme.example:token"}
    for number in range(1, n + 1):
        title, parts = page_text(number, pool)
        body = f"<p>{parts[0]}</p><h2>Details</h2><p>{parts[1]}</p><p>{parts[2]}</p><h2>Notes</h2><p>{parts[3]}</p>"
        fake.add(Page(str(number), title, "ENG", body))
    config = f'type = "confluence"\nbase_url = "{fake.base_url()}"\nspaces = ["ENG"]\n'
    return fake, config, {"CONFLUENCE_EMAIL": "bench@acme.example", "CONFLUENCE_API_TOKEN": "token"}


def notion(n: int, pool: list[str]) -> tuple[Any, str, dict[str, str]]:
    from tests.support.fake_notion import FakeNotion, heading, text_block, uid

    fake = FakeNotion()
    fake.valid_tokens = {"ntn_bench"}
    fake.add_page(1, "Handbook", [text_block("Everything we know.")])
    for number in range(2, n + 1):
        title, parts = page_text(number, pool)
        blocks = [text_block(parts[0]), heading(2, "Details"), text_block(parts[1]), text_block(parts[2])]
        fake.add_page(number, title, blocks + [heading(2, "Notes"), text_block(parts[3])], parent=uid(1))
    config = f'type = "notion"\nbase_url = "{fake.url}"\nroot_pages = ["{uid(1)}"]\nrequests_per_second = 3\n'
    return fake, config, {"NOTION_TOKEN": "ntn_bench"}


def slack(n: int, pool: list[str]) -> tuple[Any, str, dict[str, str]]:
    from tests.support.fake_slack_history import EXPERT, FakeSlackHistory

    fake = FakeSlackHistory()
    fake.valid_tokens = {"xoxb-bench"}
    fake.channel("C0BENCH001", "help")
    for number in range(1, n + 1):
        _, parts = page_text(number, pool)
        question = fake.post("C0BENCH001", "UASKER", f"Question {number}: {parts[0][:120]}?")
        fake.reply("C0BENCH001", question, "UOTHER", parts[1])
        fake.reply("C0BENCH001", question, EXPERT, parts[2] + " " + parts[3])
    config = f'type = "slack"\nbase_url = "{fake.url}/api/"\nchannels = ["C0BENCH001"]\nexpert_groups = ["SEXPERTS"]\n'
    return fake, config, {"SLACK_BOT_TOKEN": "xoxb-bench"}


def gdrive(n: int, pool: list[str]) -> tuple[Any, str, dict[str, str]]:
    from tests.support.fake_google import DOC, DriveFile, FakeGoogle

    fake = FakeGoogle()
    fake.roots.add("root")
    for number in range(1, n + 1):
        title, parts = page_text(number, pool)
        html = (
            f"<html><head><style>.c1{{}}</style></head><body><p>{parts[0]}</p><h1 id='h.a{number}'>Details</h1>"
            f"<p>{parts[1]}</p><p>{parts[2]}</p><h1 id='h.b{number}'>Notes</h1><p>{parts[3]}</p></body></html>"
        )
        fake.add(DriveFile(f"doc{number}", title, DOC, "root", html))
    config = f'type = "gdrive"\nbase_url = "{fake.url}"\nfolders = ["root"]\n'
    return fake, config, {"GDRIVE_SERVICE_ACCOUNT_JSON": json.dumps(fake.service_account())}


CONNECTORS: dict[str, Callable[[int, list[str]], tuple[Any, str, dict[str, str]]]] = {
    "confluence": confluence,
    "notion": notion,
    "slack": slack,
    "gdrive": gdrive,
}


def measure(name: str, pages: int, embedder: Any) -> dict[str, Any]:
    from bot.app.settings import load_settings
    from bot.store import open_store
    from indexer.runner import run_index
    from indexer.sources import list_documents

    fake, config, env = CONNECTORS[name](pages, paragraphs())
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ragbot.toml"
            path.write_text(CONFIG_HEAD.format(data=Path(folder) / "data") + config)
            settings = load_settings(path)
            started = time.perf_counter()
            listing = list_documents(settings.sources[0], settings, {})
            fetch_s = time.perf_counter() - started
            fetch_requests = len(fake.log)
            runs = []
            for _ in range(2):
                fake.clear_log()
                store = open_store(settings)
                try:
                    started = time.perf_counter()
                    (report,) = run_index(settings, store, embedder)
                    runs.append((time.perf_counter() - started, len(fake.log), fake.bytes_sent, report))
                finally:
                    store.close()
    finally:
        fake.close()
        for key in env:
            os.environ.pop(key, None)
    (full_s, full_requests, full_bytes, full), (same_s, same_requests, same_bytes, same) = runs
    assert full.added == len(listing.documents) and same.chunks_embedded == 0, (full.summary(), same.summary())
    return {
        "connector": name,
        "documents": len(listing.documents),
        "fetch_s": round(fetch_s, 2),
        "fetch_requests": fetch_requests,
        "full_s": round(full_s, 2),
        "full_requests": full_requests,
        "chunks": full.chunks_embedded,
        "no_change_s": round(same_s, 3),
        "no_change_requests": same_requests,
        "full_kb": round(full_bytes / 1024, 1),
        "no_change_kb": round(same_bytes / 1024, 1),
    }


def extraction() -> list[dict[str, Any]]:
    """What the readers keep of real files: pages, outline headings, sections, tables, time."""
    from bot.models import Document
    from indexer.parse import parse_document
    from indexer.sources.base import content_hash
    from tests.support.sample_docs import runbook_docx

    files: list[tuple[str, bytes, str]] = []
    for pdf in sorted(Path("/usr/share/doc").rglob("*.pdf"))[:4]:
        files.append((str(pdf), pdf.read_bytes(), "pdf"))
    files.append(("generated: runbook.docx (python-docx)", runbook_docx(), "docx"))
    rows = []
    for label, content, media_type in files:
        doc = Document(label, "bench", label, Path(label).name, content, content_hash(content), media_type)
        started = time.perf_counter()
        try:
            parsed = parse_document(doc)
        except Exception as exc:  # a scan, a damaged file: the row says so
            rows.append({"file": label, "bytes": len(content), "result": f"{type(exc).__name__}: {exc}"})
            continue
        seconds = time.perf_counter() - started
        text = "\n".join(section.text for section in parsed.sections)
        rows.append(
            {
                "file": label,
                "bytes": len(content),
                "title": parsed.title,
                "sections": len(parsed.sections),
                "with_heading": sum(1 for section in parsed.sections if section.heading_path),
                "headings": len({section.heading_path for section in parsed.sections if section.heading_path}),
                "anchors": len({section.anchor for section in parsed.sections if section.anchor}),
                "table_rows": sum(1 for line in text.splitlines() if line.startswith("| ")),
                "list_items": sum(1 for line in text.splitlines() if line.lstrip().startswith(("- ", "1. ", "2. "))),
                "chars": len(text),
                "s": round(seconds, 2),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--only", choices=sorted(CONNECTORS))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bot.config import EmbeddingConfig
    from bot.embedder import Embedder

    embedder = Embedder(EmbeddingConfig())
    print(f"# {machine()}; {args.pages} pages per connector", flush=True)
    results = []
    for name in [args.only] if args.only else list(CONNECTORS):
        row = measure(name, args.pages, embedder)
        results.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    print("| connector | docs | fetch only | full sync | fetch share | full: pages/s | no-change sync ", end="")
    print("| no-change % (time / requests / bytes) |\n|---|---|---|---|---|---|---|---|")
    for r in results:
        share = r["fetch_s"] / r["full_s"]
        print(
            f"| {r['connector']} | {r['documents']} | {r['fetch_s']:.2f} s, {r['fetch_requests']} req, "
            f"{r['full_kb']} KB "
            f"({r['documents'] / r['fetch_s']:.0f} pages/s) | {r['full_s']:.2f} s, {r['chunks']} chunks "
            f"| {share:.0%} ({'fetch' if share > 0.5 else 'embed'}-bound) | {r['documents'] / r['full_s']:.1f} "
            f"| {r['no_change_s']:.3f} s, {r['no_change_requests']} req, {r['no_change_kb']} KB "
            f"| {r['no_change_s'] / r['full_s']:.1%} / {r['no_change_requests'] / r['full_requests']:.1%} "
            f"/ {r['no_change_kb'] / r['full_kb']:.1%} |"
        )
    columns = "file, bytes, title, sections, with heading path, distinct headings, page anchors, table rows, list items"
    print("\n| " + " | ".join(columns.split(", ")) + " | chars | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in extraction():
        if "result" in row:
            print(f"| {row['file']} | {row['bytes']} | {row['result']} | | | | | | | | |")
            continue
        print(
            f"| {row['file']} | {row['bytes']} | {row['title'][:40]} | {row['sections']} | {row['with_heading']} "
            f"| {row['headings']} | {row['anchors']} | {row['table_rows']} | {row['list_items']} | {row['chars']} "
            f"| {row['s']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
