"""Turn raw documents into a title and heading-delimited sections.

Each section keeps its heading path and the anchor a browser would scroll to, so a
citation can link to the exact section.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from pathlib import PurePosixPath

from markdown_it import MarkdownIt

from bot.models import Document, ParsedDocument, Section
from indexer.parse_html import parse_html
from indexer.sections import add_section, drop_title_only

__all__ = ["parse_document", "parse_html", "github_slug", "docutils_slug"]


def parse_document(doc: Document) -> ParsedDocument:
    if doc.media_type == "html":
        return parse_html(doc.content, fallback_title=_stem(doc.path))
    if doc.media_type in ("pdf", "docx"):  # indexer/formats: optional readers, imported when needed
        from indexer.formats.docx import parse_docx
        from indexer.formats.pdf import parse_pdf

        return (parse_pdf if doc.media_type == "pdf" else parse_docx)(doc.content, fallback_title=_stem(doc.path))
    if doc.media_type == "page":  # a page from an API connector: title, breadcrumbs, HTML
        from indexer.formats.page import parse_page

        return parse_page(doc.content, fallback_title=_stem(doc.path))
    text = doc.content.decode("utf-8-sig")
    if doc.media_type == "markdown":
        return parse_markdown(text, fallback_title=_stem(doc.path))
    if doc.media_type == "rst":
        return parse_rst(text, fallback_title=_stem(doc.path))
    return parse_text(text, fallback_title=_stem(doc.path))


def _stem(path: str) -> str:
    return PurePosixPath(path).stem.replace("-", " ").replace("_", " ").strip() or path


# -- Markdown --------------------------------------------------------------------------
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def github_slug(heading: str) -> str:
    """The anchor GitHub, GitLab and most Markdown renderers give a heading."""
    slug = heading.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")


def parse_markdown(text: str, fallback_title: str) -> ParsedDocument:
    title = None
    front = _FRONT_MATTER.match(text)
    if front:
        match = re.search(r"^title:\s*[\"']?(.+?)[\"']?\s*$", front.group(1), re.M)
        title = match.group(1) if match else None
        text = text[front.end() :]
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    headings: list[tuple[int, int, str]] = []  # (level, line, text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            inline = tokens[i + 1]
            headings.append((int(token.tag[1]), token.map[0], _strip_inline_markdown(inline.content)))
            # Setext headings span two lines; the body starts after the map end.
            headings[-1] = (headings[-1][0], token.map[0], headings[-1][2])
    ends = {token.map[0]: token.map[1] for token in tokens if token.type == "heading_open" and token.map}
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    seen_slugs: dict[str, int] = {}
    if headings and headings[0][0] == 1 and title is None:
        title = headings[0][2]
    preamble = "\n".join(lines[: headings[0][1]] if headings else lines)
    add_section(sections, (), None, preamble)
    for n, (level, line, heading) in enumerate(headings):
        body_end = headings[n + 1][1] if n + 1 < len(headings) else len(lines)
        body = "\n".join(lines[ends[line] : body_end])
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        add_section(sections, tuple(h for _, h in path), _unique(github_slug(heading), seen_slugs), body)
    return ParsedDocument(title=title or fallback_title, sections=drop_title_only(sections, title))


def _strip_inline_markdown(text: str) -> str:
    """Heading text as a reader sees it: links and emphasis markers go, identifiers stay whole.

    An underscore inside a word (``ERR_CONN_RESET``, ``max_retries``) is part of the name, not
    emphasis, so only underscores at a word's edge are dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[`*]", "", text)
    return re.sub(r"(?<!\w)_+|_+(?!\w)", "", text).strip()


def _unique(slug: str, seen: dict[str, int]) -> str:
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


# -- reStructuredText ------------------------------------------------------------------
_RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")


def docutils_slug(heading: str) -> str:
    """The id docutils/Sphinx gives a section title."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def parse_rst(text: str, fallback_title: str) -> ParsedDocument:
    lines = text.splitlines()
    styles: list[str] = []  # adornment styles in order of first use = heading levels
    found: list[tuple[int, int, int, str]] = []  # (level, start line, body start, title)
    i = 0
    while i < len(lines) - 1:
        over = _RST_ADORNMENT.match(lines[i])
        title_line = lines[i + 1] if over else lines[i]
        under_index = i + 2 if over else i + 1
        if under_index < len(lines):
            under = _RST_ADORNMENT.match(lines[under_index])
            if (
                under
                and title_line.strip()
                and not _RST_ADORNMENT.match(title_line)
                and len(lines[under_index].rstrip()) >= len(title_line.rstrip())
                and (not over or over.group(1) == under.group(1))
            ):
                style = ("over" if over else "") + under.group(1)
                if style not in styles:
                    styles.append(style)
                found.append((styles.index(style) + 1, i, under_index + 1, title_line.strip()))
                i = under_index + 1
                continue
        i += 1
    sections: list[Section] = []
    title = found[0][3] if found and found[0][0] == 1 else None
    add_section(sections, (), None, "\n".join(lines[: found[0][1]] if found else lines))
    path: list[tuple[int, str]] = []
    for n, (level, _start, body_start, heading) in enumerate(found):
        body_end = found[n + 1][1] if n + 1 < len(found) else len(lines)
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        body = _rst_literal_blocks("\n".join(lines[body_start:body_end]))
        add_section(sections, tuple(h for _, h in path), docutils_slug(heading), body)
    return ParsedDocument(title=title or fallback_title, sections=drop_title_only(sections, title))


_RST_CODE_DIRECTIVE = re.compile(r"^\.\. (?:code-block|code|sourcecode)::.*$")


def _rst_literal_blocks(body: str) -> str:
    """``text::`` / ``.. code-block::`` followed by an indented block -> ``text:`` and a fenced block.

    Every parser hands the chunker the same Markdown-like structure (fences, ``- `` items,
    ``|`` rows), so the answer side has one format to read."""
    lines = body.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opens = line.rstrip().endswith("::") or _RST_CODE_DIRECTIVE.match(line.strip())
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if not opens or j >= len(lines) or not lines[j].startswith((" ", "\t")):
            out.append(line)
            i += 1
            continue
        if not _RST_CODE_DIRECTIVE.match(line.strip()):
            lead = line.rstrip()[:-2].rstrip()
            if lead:
                out.append(lead + ":")
        block: list[str] = []
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
            if not lines[j].strip().startswith(":") or block:  # directive options (:linenos:) are not code
                block.append(lines[j])
            j += 1
        out.extend(["", "```", *textwrap.dedent("\n".join(block)).strip("\n").split("\n"), "```", ""])
        i = j
    return "\n".join(out)


# -- plain text ------------------------------------------------------------------------
def parse_text(text: str, fallback_title: str) -> ParsedDocument:
    sections: list[Section] = []
    add_section(sections, (), None, text)
    return ParsedDocument(title=fallback_title, sections=sections)
