"""Turn raw documents into a title and heading-delimited sections.

Each section keeps its heading path and the anchor a browser would scroll to, so a
citation can link to the exact section.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from pathlib import PurePosixPath

from bs4 import BeautifulSoup, Comment, Tag
from markdown_it import MarkdownIt

from bot.blocks import is_fence
from bot.models import Document, ParsedDocument, Section

__all__ = ["parse_document", "github_slug", "docutils_slug"]

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BOILERPLATE_TAGS = ("script", "style", "noscript", "nav", "footer", "header", "aside", "form", "template", "svg")
_BOILERPLATE_CLASSES = re.compile(
    r"(^|[\s_-])(sphinxsidebar|related|footer|navbar|nav|sidebar|breadcrumbs?|toc|headerlink|md-sidebar|"
    r"md-header|md-footer|skip-link|cookie)([\s_-]|$)",
    re.I,
)


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
    _add(sections, (), None, preamble)
    for n, (level, line, heading) in enumerate(headings):
        body_end = headings[n + 1][1] if n + 1 < len(headings) else len(lines)
        body = "\n".join(lines[ends[line] : body_end])
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        _add(sections, tuple(h for _, h in path), _unique(github_slug(heading), seen_slugs), body)
    return ParsedDocument(title=title or fallback_title, sections=_drop_title_only(sections, title))


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
    _add(sections, (), None, "\n".join(lines[: found[0][1]] if found else lines))
    path: list[tuple[int, str]] = []
    for n, (level, _start, body_start, heading) in enumerate(found):
        body_end = found[n + 1][1] if n + 1 < len(found) else len(lines)
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        body = _rst_literal_blocks("\n".join(lines[body_start:body_end]))
        _add(sections, tuple(h for _, h in path), docutils_slug(heading), body)
    return ParsedDocument(title=title or fallback_title, sections=_drop_title_only(sections, title))


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


# -- HTML ------------------------------------------------------------------------------
_MARK = "\u2063RAGBOT-HEADING-{}\u2063"
_MARK_RE = re.compile("\u2063RAGBOT-HEADING-(\\d+)\u2063")


def parse_html(content: bytes, fallback_title: str) -> ParsedDocument:
    soup = BeautifulSoup(content, "lxml")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_BOILERPLATE_TAGS):
        tag.decompose()
    for tag in soup.find_all(role=["navigation", "banner", "contentinfo", "search"]):
        tag.decompose()
    for tag in soup.find_all(class_=_BOILERPLATE_CLASSES):
        if tag.name not in ("body", "html", "main", "article"):
            tag.decompose()
    root = soup.find("main") or soup.find(role="main") or soup.find("article") or soup.body or soup
    _keep_structure(soup, root)
    headings: list[tuple[int, str, str | None]] = []
    for n, heading in enumerate(root.find_all(_HEADINGS)):
        text = heading.get_text(" ", strip=True)
        headings.append((int(heading.name[1]), text, _html_anchor(heading)))
        heading.replace_with(soup.new_string("\n" + _MARK.format(n) + "\n"))
    for block in root.find_all(_LINE_BLOCKS):
        block.insert_after(soup.new_string("\n"))
    for block in root.find_all(_PARAGRAPH_BLOCKS):
        inside_item = block.name == "p" and isinstance(block.parent, Tag) and block.parent.name == "li"
        block.insert_after(soup.new_string(" " if inside_item else "\n\n"))
    flat = _unindent_flattened(root.get_text())
    parts = _MARK_RE.split(flat)
    h1 = next((text for level, text, _ in headings if level == 1), None)
    title = h1 or _clean_title(page_title) or fallback_title
    sections: list[Section] = []
    _add(sections, (), None, parts[0])
    path: list[tuple[int, str]] = []
    for index in range(1, len(parts), 2):
        level, text, anchor = headings[int(parts[index])]
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
        _add(sections, tuple(h for _, h in path), anchor, parts[index + 1])
    return ParsedDocument(title=title, sections=_drop_title_only(sections, title))


_LINE_BLOCKS = ["li", "dt", "dd", "br"]
_PARAGRAPH_BLOCKS = ["p", "div", "section", "blockquote", "ul", "ol", "dl"]


def _keep_structure(soup: BeautifulSoup, root: Tag) -> None:
    """Rewrite lists, code blocks and tables as Markdown-like text before the page is flattened.

    Facts live in these blocks (the command after "run:", the row of a price table); flattened
    to bare lines they lose what ties them together. Whitespace inside running text is folded
    as a browser folds it; inside ``<pre>`` it is kept."""
    for text in root.find_all(string=True):
        if text.find_parent("pre") is None and not isinstance(text, Comment):
            text.replace_with(re.sub(r"\s+", " ", str(text)))
    for pre in root.find_all("pre"):
        code = pre.get_text().strip("\n")
        fence = "~~~" if "```" in code else "```"  # a fence the code itself doesn't contain
        pre.replace_with(soup.new_string(f"\n\n{fence}\n{code}\n{fence}\n\n"))
    for table in root.find_all("table"):
        if table.find("table") is None:  # layout tables holding tables are flattened as text
            table.replace_with(soup.new_string(f"\n\n{_markdown_table(table)}\n\n"))
    for item in root.find_all("li"):
        parent = item.find_parent(["ol", "ul"])
        if parent is not None and parent.name == "ol":
            marker = f"{len(item.find_previous_siblings('li')) + 1}. "
        else:
            marker = "- "
        item.insert(0, soup.new_string(marker))


def _markdown_table(table: Tag) -> str:
    """One ``| a | b |`` line per row; the first row is the header when all its cells are <th>
    (a row of labels down the side is data). A ``|`` inside a cell is escaped as ``\\|``."""
    rows = []
    for row in table.find_all("tr"):
        cells = [
            " ".join(cell.get_text(" ", strip=True).split()).replace("|", "\\|") for cell in row.find_all(["th", "td"])
        ]
        if any(cells):
            is_header = row.find_parent("thead") is not None or all(c.name == "th" for c in row.find_all(["th", "td"]))
            rows.append((is_header, cells))
    if not rows:
        return ""
    lines = ["| " + " | ".join(cells) + " |" for _, cells in rows]
    if rows[0][0]:
        lines.insert(1, "|" + "---|" * len(rows[0][1]))
    return "\n".join(lines)


def _clean_title(title: str) -> str:
    # "Page — Site 1.0 documentation" -> "Page"
    return re.split(r"\s+[—|–-]\s+", title)[0].strip() if title else ""


def _html_anchor(heading: Tag) -> str | None:
    if heading.get("id"):
        return str(heading["id"])
    for anchor in heading.find_all("a"):
        if anchor.get("id") or anchor.get("name"):
            return str(anchor.get("id") or anchor.get("name"))
    parent = heading.parent
    if isinstance(parent, Tag) and parent.name in ("section", "div") and parent.get("id"):
        # Sphinx puts the id on the wrapping <section>, not the heading.
        first = parent.find(_HEADINGS)
        if first is heading:
            return str(parent["id"])
    return None


# -- plain text ------------------------------------------------------------------------
def parse_text(text: str, fallback_title: str) -> ParsedDocument:
    sections: list[Section] = []
    _add(sections, (), None, text)
    return ParsedDocument(title=fallback_title, sections=sections)


# -- shared ----------------------------------------------------------------------------
def _normalise(text: str) -> str:
    """Blanks at line ends and runs of blank lines go; indentation (Markdown code, nested lists)
    stays."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _unindent_flattened(text: str) -> str:
    """Flattened HTML leaves the blanks of the markup at line starts; they mean nothing outside
    ``<pre>``, which arrives here fenced."""
    lines: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if is_fence(line):
            in_fence = not in_fence
            line = line.strip()
        lines.append(line if in_fence else line.strip())
    return "\n".join(lines)


def _add(sections: list[Section], heading_path: tuple[str, ...], anchor: str | None, body: str) -> None:
    body = _normalise(body)
    sections.append(Section(heading_path=heading_path, anchor=anchor, text=body))


def _drop_title_only(sections: list[Section], title: str | None) -> list[Section]:
    """Drop empty sections, and the page title from heading paths (it is the chunk title already)."""
    kept = []
    for section in sections:
        path = section.heading_path
        if title and path and path[0] == title:
            path = path[1:]
        if section.text:
            kept.append(Section(heading_path=path, anchor=section.anchor, text=section.text))
    return kept
