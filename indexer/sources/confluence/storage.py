"""Confluence storage format (XHTML with ``ac:`` macros) -> plain HTML for the page parser.

Kept: headings (with the anchors Confluence gives them), paragraphs, lists, tables, code
macros (as ``<pre>``), info/note/warning/tip panels (their text, labelled), expand sections,
task lists, and link text. Dropped: Jira issue macros and other generated noise (tables of
contents, child-page lists, "recently updated"), images, emoticons and user mentions,
which carry no words of the page's own.
"""

from __future__ import annotations

import html
import re

from bs4 import BeautifulSoup, Tag

__all__ = ["storage_to_html", "heading_anchor"]

_PANELS = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip", "panel": "", "success": "Success"}
_NOISE_MACROS = frozenset(
    {
        "jira",
        "jiraissues",
        "jira-chart",
        "toc",
        "toc-zone",
        "children",
        "pagetree",
        "recently-updated",
        "contentbylabel",
        "livesearch",
        "attachments",
        "anchor",
        "profile",
        "gallery",
        "roadmap",
        "create-from-template",
    }
)
_CODE_MACROS = frozenset({"code", "noformat", "code-block"})
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def heading_anchor(page_title: str, heading: str) -> str:
    """The id Confluence gives a heading: ``PageTitle-HeadingText``, without spaces or punctuation."""

    def squeeze(text: str) -> str:
        return re.sub(r"[^\w-]", "", text.replace(" ", ""))

    return f"{squeeze(page_title)}-{squeeze(heading)}"


def storage_to_html(storage: str, page_title: str) -> str:
    soup = BeautifulSoup(storage, "html.parser")  # keeps "ac:structured-macro" names as they are
    for macro in soup.find_all(["ac:structured-macro", "ac:macro"]):
        if macro.parent is not None:  # not inside a macro already removed
            _macro(soup, macro)
    for tag in soup.find_all(["ac:image", "ac:emoticon", "ri:user", "ac:placeholder", "ac:inline-comment-marker"]):
        if tag.name == "ac:inline-comment-marker":
            tag.unwrap()  # a comment marks text: the text stays
        else:
            tag.decompose()
    for link in soup.find_all("ac:link"):
        link.replace_with(soup.new_string(_link_text(link)))
    for task_list in soup.find_all("ac:task-list"):
        task_list.replace_with(_tasks(soup, task_list))
    for heading in soup.find_all(_HEADINGS):
        heading["id"] = heading_anchor(page_title, heading.get_text(" ", strip=True))
    for tag in soup.find_all(lambda t: ":" in t.name):  # any other ac:/ri: element: keep its text
        tag.unwrap()
    return str(soup)


def _name(macro: Tag) -> str:
    return str(macro.get("ac:name", "")).lower()


def _parameter(macro: Tag, name: str) -> str:
    for parameter in macro.find_all("ac:parameter", recursive=False):
        if str(parameter.get("ac:name", "")).lower() == name:
            return parameter.get_text(" ", strip=True)
    return ""


def _macro(soup: BeautifulSoup, macro: Tag) -> None:
    name = _name(macro)
    if name in _NOISE_MACROS:
        macro.decompose()
    elif name in _CODE_MACROS:
        body = macro.find("ac:plain-text-body")
        pre = soup.new_tag("pre")
        pre.string = body.get_text() if body is not None else ""
        macro.replace_with(pre)
    elif name in _PANELS:
        body = macro.find("ac:rich-text-body")
        label = _parameter(macro, "title") or _PANELS[name]
        panel = soup.new_tag("div")
        if label:
            lead = soup.new_tag("p")
            lead.string = f"{label}:"
            panel.append(lead)
        if body is not None:
            for child in list(body.contents):
                panel.append(child.extract())
        macro.replace_with(panel)
    elif name == "status":
        macro.replace_with(soup.new_string(_parameter(macro, "title")))
    else:  # expand, section, column, details and unknown macros: their body, parameters dropped
        for parameter in macro.find_all("ac:parameter", recursive=False):
            parameter.decompose()
        title = _parameter(macro, "title") if name == "expand" else ""
        if title:
            macro.insert(0, BeautifulSoup(f"<p>{html.escape(title)}</p>", "html.parser"))
        macro.unwrap()


def _link_text(link: Tag) -> str:
    body = link.find(["ac:plain-text-link-body", "ac:link-body"])
    if body is not None and body.get_text(strip=True):
        return body.get_text(" ", strip=True)
    target = link.find(["ri:page", "ri:attachment", "ri:space", "ri:url"])
    if target is not None:
        for attribute in ("ri:content-title", "ri:filename", "ri:space-key", "ri:value"):
            if target.get(attribute):
                return str(target[attribute])
    return link.get_text(" ", strip=True)


def _tasks(soup: BeautifulSoup, task_list: Tag) -> Tag:
    items = soup.new_tag("ul")
    for task in task_list.find_all("ac:task", recursive=False):
        done = (task.find("ac:task-status") or soup.new_string("")).get_text(strip=True) == "complete"
        body = task.find("ac:task-body")
        item = soup.new_tag("li")
        item.string = ("[x] " if done else "[ ] ") + (body.get_text(" ", strip=True) if body is not None else "")
        items.append(item)
    return items
