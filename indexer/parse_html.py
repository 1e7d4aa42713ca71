"""HTML pages as a title and heading-delimited sections, without the site's navigation.

Boilerplate (navigation, headers, footers, sidebars, cookie banners) is dropped; lists, code
blocks and tables are rewritten as Markdown-like text before the page is flattened, so the facts
they hold keep what ties them together. A section's anchor is the id a browser scrolls to.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment, Tag

from bot.blocks import is_fence
from bot.models import ParsedDocument, Section
from indexer.sections import add_section, drop_title_only

__all__ = ["parse_html"]

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BOILERPLATE_TAGS = ("script", "style", "noscript", "nav", "footer", "header", "aside", "form", "template", "svg")
_BOILERPLATE_CLASSES = re.compile(
    r"(^|[\s_-])(sphinxsidebar|related|footer|navbar|nav|sidebar|breadcrumbs?|toc|headerlink|md-sidebar|"
    r"md-header|md-footer|skip-link|cookie)([\s_-]|$)",
    re.I,
)


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
    add_section(sections, (), None, parts[0])
    path: list[tuple[int, str]] = []
    for index in range(1, len(parts), 2):
        level, text, anchor = headings[int(parts[index])]
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
        add_section(sections, tuple(h for _, h in path), anchor, parts[index + 1])
    return ParsedDocument(title=title, sections=drop_title_only(sections, title))


_LINE_BLOCKS = ["li", "dt", "br"]
# A definition (<dd>) ends a paragraph, so its term (<dt>, an API signature) leads it and the
# next term starts a new one instead of trailing the previous definition's last sentence.
_PARAGRAPH_BLOCKS = ["p", "div", "section", "blockquote", "ul", "ol", "dl", "dd"]


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
