"""Parsing keeps headings and anchors; chunking respects the token budget."""

from __future__ import annotations

import re

from bot.embedder import Embedder
from bot.models import Document
from bot.units import answer_units
from indexer.chunk import Chunker
from indexer.config import ChunkingConfig
from indexer.parse import parse_document
from indexer.sources.base import content_hash


def doc(path: str, media_type: str, content: str | bytes) -> Document:
    raw = content.encode() if isinstance(content, str) else content
    return Document(
        doc_id=f"t:{path}",
        source="t",
        url=f"https://docs.example/{path}",
        path=path,
        content=raw,
        content_hash=content_hash(raw),
        media_type=media_type,
    )


def test_markdown_sections_keep_heading_path_and_github_anchor() -> None:
    parsed = parse_document(
        doc("a.md", "markdown", "# Guide\n\nIntro.\n\n## Set up\n\nStep.\n\n### On Linux\n\nUse apt.\n")
    )

    assert parsed.title == "Guide"
    assert [(s.heading_path, s.anchor, s.text) for s in parsed.sections] == [
        ((), "guide", "Intro."),
        (("Set up",), "set-up", "Step."),
        (("Set up", "On Linux"), "on-linux", "Use apt."),
    ]


def test_markdown_front_matter_title_wins() -> None:
    parsed = parse_document(doc("a.md", "markdown", "---\ntitle: Real title\n---\nSome text.\n"))
    assert parsed.title == "Real title" and parsed.sections[0].text == "Some text."


def test_rst_sections_get_docutils_ids() -> None:
    parsed = parse_document(doc("r.rst", "rst", "Title\n=====\n\nIntro.\n\nHot fixes\n---------\n\nCherry-pick.\n"))
    assert parsed.title == "Title"
    assert [(s.heading_path, s.anchor) for s in parsed.sections] == [((), "title"), (("Hot fixes",), "hot-fixes")]


def test_html_drops_navigation_and_footer_and_uses_sphinx_section_ids() -> None:
    html = """<html><head><title>Page - Site docs</title></head><body>
    <div class="sphinxsidebar">Search the docs</div><nav>Home | About</nav>
    <div role="main"><section id="intro"><h1>Intro<a class="headerlink" href="#intro">¶</a></h1>
    <p>First paragraph.</p><section id="details"><h2>Details</h2><p>More <b>bold</b> text.</p></section></section></div>
    <footer>Copyright</footer></body></html>"""

    parsed = parse_document(doc("p.html", "html", html))

    assert parsed.title == "Intro"
    assert [(s.heading_path, s.anchor, s.text) for s in parsed.sections] == [
        ((), "intro", "First paragraph."),
        (("Details",), "details", "More bold text."),
    ]
    everything = " ".join(s.text for s in parsed.sections)
    assert "Search the docs" not in everything and "Copyright" not in everything and "¶" not in everything


def test_html_in_another_charset_is_decoded() -> None:
    raw = (
        '<html><head><meta charset="iso-8859-1"><title>Café</title></head>'
        "<body><p>Le café ouvre à 8h.</p></body></html>"
    )
    parsed = parse_document(doc("c.html", "html", raw.encode("latin-1")))
    assert "café ouvre à 8h" in parsed.sections[0].text


def test_long_sections_are_split_under_the_token_budget_with_overlap(embedder: Embedder) -> None:
    sentences = [
        f"Rule number {i} says that service {i} must page the owning team within {i} minutes." for i in range(120)
    ]
    text = "# Rules\n\n## Paging rules\n\n" + "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, 120, 4))
    config = ChunkingConfig(max_tokens=128, overlap_tokens=24)
    chunker = Chunker(embedder.tokenizer, config)
    document = doc("rules.md", "markdown", text)

    chunks = chunker.chunk(document, parse_document(document))

    assert len(chunks) > 5
    for chunk in chunks:
        tokens = len(embedder.tokenizer(chunk.embedding_text)["input_ids"])
        assert tokens <= config.max_tokens
        assert chunk.embedding_text.startswith("Rules > Paging rules\n")
        assert chunk.url.endswith("#paging-rules")
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    joined = " ".join(c.text for c in chunks)
    assert all(sentence in joined for sentence in sentences)  # nothing lost at the seams
    carried = [re.split(r"(?<=\.)\s+", a.text)[-1] in b.text for a, b in zip(chunks, chunks[1:])]
    assert all(carried), "each chunk should start with the last sentence of the one before"


def test_a_paragraph_without_breaks_is_still_split(embedder: Embedder) -> None:
    chunker = Chunker(embedder.tokenizer, ChunkingConfig(max_tokens=64, overlap_tokens=0))
    document = doc("blob.txt", "text", "x" + " token" * 1000)

    chunks = chunker.chunk(document, parse_document(document))

    assert len(chunks) > 10
    assert all(len(embedder.tokenizer(c.embedding_text)["input_ids"]) <= 64 for c in chunks)


def test_markdown_headings_keep_identifiers_verbatim_with_the_anchor_github_gives() -> None:
    parsed = parse_document(doc("d.md", "markdown", "# Dev\n\n### Tests fail with ERR_CONN_RESET\n\nStart Redis.\n"))

    (section,) = parsed.sections
    assert section.heading_path == ("Tests fail with ERR_CONN_RESET",)
    assert section.anchor == "tests-fail-with-err_conn_reset"  # what github.com renders for that heading


def test_html_lists_code_blocks_and_tables_keep_their_structure() -> None:
    html = """<html><body><main><h1>Travel</h1><h2 id="hotels">Hotels</h2>
    <p>Pick a hotel from the Roam list.
       Nightly caps:</p>
    <table><thead><tr><th>City</th><th>Nightly cap</th></tr></thead>
    <tbody><tr><td>London</td><td>EUR 240</td></tr></tbody></table>
    <p>In Slack, run:</p><div class="highlight"><pre>/incident declare
  --sev 1</pre></div>
    <ul><li><p>First item</p></li><li>Second item</li></ul>
    <ol><li>one</li><li>two</li></ol></main></body></html>"""

    (section,) = parse_document(doc("t.html", "html", html)).sections

    assert section.text == (
        "Pick a hotel from the Roam list. Nightly caps:\n\n"
        "| City | Nightly cap |\n|---|---|\n| London | EUR 240 |\n\n"
        "In Slack, run:\n\n```\n/incident declare\n  --sev 1\n```\n\n"
        "- First item\n- Second item\n\n1. one\n2. two"
    )


def test_rst_literal_blocks_become_fenced_code() -> None:
    rst = (
        "Title\n=====\n\nBuild it::\n\n    make build\n    make test\n\n"
        "Then ship.\n\n.. code-block:: python\n\n   print(1)\n"
    )

    (section,) = parse_document(doc("r.rst", "rst", rst)).sections

    assert section.text == "Build it:\n\n```\nmake build\nmake test\n```\n\nThen ship.\n\n```\nprint(1)\n```"


def test_a_lead_in_stays_in_the_chunk_of_the_block_it_introduces(embedder: Embedder) -> None:
    filler = " ".join(f"Sentence {i} talks about something unrelated to the command." for i in range(14))
    text = f"# Ops\n\n## Incidents\n\n{filler} To open an incident, run:\n\n```\n/incident declare sev2\n```\n"
    chunker = Chunker(embedder.tokenizer, ChunkingConfig(max_tokens=128, overlap_tokens=0))
    document = doc("ops.md", "markdown", text)

    chunks = chunker.chunk(document, parse_document(document))

    assert len(chunks) > 1
    holding = [c.text for c in chunks if "/incident declare" in c.text]
    assert holding and all("To open an incident, run:\n\n```\n/incident declare sev2\n```" in t for t in holding)


def test_a_table_split_across_chunks_repeats_its_header(embedder: Embedder) -> None:
    rows = "\n".join(f"| city-{i} | {100 + i} EUR | approved by the travel team |" for i in range(60))
    text = f"# Travel\n\n## Caps\n\n| City | Cap | Note |\n|---|---|---|\n{rows}\n"
    chunker = Chunker(embedder.tokenizer, ChunkingConfig(max_tokens=128, overlap_tokens=0))
    document = doc("caps.md", "markdown", text)

    chunks = chunker.chunk(document, parse_document(document))

    assert len(chunks) > 2
    assert all(c.text.startswith("| City | Cap | Note |\n|---|---|---|\n") for c in chunks)
    assert all(f"| city-{i} |" in " ".join(c.text for c in chunks) for i in range(60))


def test_markdown_code_and_nested_lists_keep_their_indentation() -> None:
    text = "# T\n\n## Code\n\n    def f():\n        return 1\n\n- item\n  - nested item\n"

    (section,) = parse_document(doc("c.md", "markdown", text)).sections

    assert "    def f():\n        return 1" in section.text
    assert "- item\n  - nested item" in section.text


def test_a_row_of_side_labels_is_data_and_pipes_in_cells_stay_verbatim() -> None:
    from bot.units import answer_units

    html = """<html><body><main><h2 id="caps">Caps</h2><table>
    <tr><th>London</th><td>240</td></tr><tr><th>Paris</th><td>300</td></tr></table>
    <table><thead><tr><th>Task</th><th>Command</th></tr></thead>
    <tr><td>Find errors</td><td>journalctl | grep error</td></tr></table></main></body></html>"""

    (section,) = parse_document(doc("t.html", "html", html)).sections
    units = [u.text for u in answer_units(section.text)]

    assert "London | 240" in units and "Paris | 300" in units  # no made-up header "London: Paris"
    assert "Task: Find errors, Command: journalctl | grep error" in units


def test_a_pre_block_that_contains_a_fence_stays_one_code_block() -> None:
    from bot.blocks import split_blocks

    html = (
        "<html><body><main><h2>Docs</h2><p>Write:</p><pre>```python\nprint(1)\n```</pre>"
        "<p>Done.</p></main></body></html>"
    )

    (section,) = parse_document(doc("f.html", "html", html)).sections

    kinds = [b.kind for b in split_blocks(section.text)]
    assert kinds == ["paragraph", "code", "paragraph"]
    assert "~~~\n```python\nprint(1)\n```\n~~~" in section.text


def test_an_over_long_code_line_is_split_into_chunks_under_the_budget(embedder: Embedder) -> None:
    minified = "x=" + "+".join(f"value_{i}" for i in range(800))
    chunker = Chunker(embedder.tokenizer, ChunkingConfig(max_tokens=128, overlap_tokens=0))
    document = doc("min.md", "markdown", f"# Min\n\n## Bundle\n\n```\n{minified}\n```\n")

    chunks = chunker.chunk(document, parse_document(document))

    assert len(chunks) > 5
    assert all(len(embedder.tokenizer(c.embedding_text)["input_ids"]) <= 128 for c in chunks)


def test_each_definition_list_entry_is_its_own_paragraph_led_by_its_term() -> None:
    # API references (Sphinx, MkDocs, Javadoc) list signatures as <dt> and descriptions as <dd>;
    # a <dd> without a <p> must not run on into the next signature.
    html = """<html><body><main><h1>Secrets</h1><h2 id="random-numbers">Random numbers</h2>
    <dl class="function"><dt id="secrets.randbelow">secrets.randbelow(n)</dt>
    <dd>Return a random int in the range [0, n).</dd>
    <dt id="secrets.randbits">secrets.randbits(k)</dt><dd>Return an int with k random bits.</dd></dl>
    </main></body></html>"""

    (section,) = parse_document(doc("secrets.html", "html", html)).sections

    assert section.text == (
        "secrets.randbelow(n)\nReturn a random int in the range [0, n).\n\n"
        "secrets.randbits(k)\nReturn an int with k random bits."
    )
    assert [unit.text for unit in answer_units(section.text)] == [
        "secrets.randbelow(n) Return a random int in the range [0, n).",
        "secrets.randbits(k) Return an int with k random bits.",
    ]
