"""Slack formatting: escaped user text, deep links, and long answers split without losing text."""

from __future__ import annotations

import json

from adapters.slack.format import MAX_BLOCKS, SECTION_LIMIT, answer_blocks, escape, feedback_done_blocks, split_text
from bot.models import Answer, Citation


def citation(n: int, title: str = "Deploys › Rolling back", url: str = "https://docs.example/deploys.md#rolling-back"):
    return Citation(n=n, title=title, url=url, score=0.6, snippet="...")


def test_user_text_cannot_inject_mentions_or_links() -> None:
    blocks = answer_blocks(Answer("q", "Use <!channel> & <https://evil.example|click> [1]", True, [citation(1)]))
    text = blocks[0]["text"]["text"]
    assert text == "Use &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; [1]"


def test_sources_are_deep_links_with_titles() -> None:
    blocks = answer_blocks(
        Answer("q", "Press Rollback [1]", True, [citation(1), citation(2, "A|B <C>", "https://x/y#z")])
    )
    sources = blocks[1]["text"]["text"]
    assert sources.startswith("*Sources*")
    assert "[1] <https://docs.example/deploys.md#rolling-back|Deploys › Rolling back>" in sources
    assert "[2] <https://x/y#z|A¦B &lt;C&gt;>" in sources


def test_a_refusal_lists_the_closest_pages() -> None:
    blocks = answer_blocks(Answer("q", "I couldn't find this in the docs.", False, [citation(1)]))
    assert blocks[1]["text"]["text"].startswith("*Closest pages in the docs*")


def test_long_text_is_split_under_the_section_limit_without_loss() -> None:
    text = "\n".join(f"Line {i}: " + "word " * (i % 40) for i in range(2000))
    pieces = split_text(text)
    assert all(len(p) <= SECTION_LIMIT for p in pieces)
    assert "".join(pieces).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_an_answer_longer_than_fifty_blocks_keeps_everything() -> None:
    text = " ".join(f"sentence{i}." for i in range(20_000))  # ~220k characters
    blocks = answer_blocks(Answer("q", text, True, [citation(1)]))
    assert len(blocks) > MAX_BLOCKS  # the adapter posts the overflow as further thread messages
    words = " ".join(
        b["text"]["text"] for b in blocks if b["type"] == "section" and "*Sources*" not in b["text"]["text"]
    )
    assert words.split() == text.split()
    assert blocks[-1]["block_id"] == "ragbot_feedback"


def test_a_recorded_vote_replaces_the_buttons() -> None:
    blocks = answer_blocks(Answer("q", "a [1]", True, [citation(1)]))
    done = feedback_done_blocks(blocks, "U1", "up")
    assert "ragbot_feedback_up" not in json.dumps(done)
    assert "Feedback from <@U1> recorded" in json.dumps(done, ensure_ascii=False)


def test_escape_leaves_ordinary_text_alone() -> None:
    assert escape("Deploys: Monday–Thursday, 09:00 UTC [1]") == "Deploys: Monday–Thursday, 09:00 UTC [1]"


def test_a_code_block_reaches_slack_as_a_code_block_and_bold_as_mrkdwn() -> None:
    text = "**VPN times out**: set the MTU. In Slack, run: [1]\n```\n/incident declare sev2 <!channel>\n```"
    blocks = answer_blocks(Answer("q", text, True, [citation(1)]))

    shown = blocks[0]["text"]["text"]
    assert shown.startswith("*VPN times out*: set the MTU.")
    assert "```\n/incident declare sev2 &lt;!channel&gt;\n```" in shown
    assert json.loads(json.dumps(blocks))  # a valid Block Kit payload: plain JSON, sections under the limit
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in blocks if b["type"] == "section")


def test_a_table_row_with_headers_reaches_slack_as_written() -> None:
    blocks = answer_blocks(Answer("q", "City: London, Nightly cap: EUR 240. [1]", True, [citation(1)]))
    assert blocks[0]["text"]["text"] == "City: London, Nightly cap: EUR 240. [1]"


def test_broadcast_mentions_from_a_document_are_escaped_in_every_text_field() -> None:
    from adapters.slack.format import fallback_text, partial_text

    text = "Ping <!channel> and <!here> and <@U123> and <!subteam^S1> [1]"
    answer = Answer("q", text, True, [citation(1, title="<!everyone> notes")])
    payload = json.dumps(answer_blocks(answer)) + fallback_text(text) + partial_text(text)

    for raw in ("<!channel>", "<!here>", "<@U123>", "<!subteam", "<!everyone>"):
        assert raw not in payload


def test_a_code_block_split_across_sections_is_closed_and_reopened() -> None:
    code = "\n".join(f"echo line {i}" for i in range(600))
    pieces = split_text(f"Run: [1]\n```\n{code}\n```")

    assert len(pieces) > 1
    assert all(len(p) <= SECTION_LIMIT for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)  # every piece renders its part as code
    assert all(f"echo line {i}\n" in "\n".join(pieces) + "\n" for i in range(600))


def test_the_fallback_text_never_ends_inside_an_escaped_character() -> None:
    from adapters.slack.format import fallback_text

    text = "a" * (SECTION_LIMIT - 2) + "& more"
    assert fallback_text(text).endswith("a")  # not "&am"


def test_code_indentation_survives_a_split_inside_a_block() -> None:
    code = "\n".join(f"    indented_line_{i}()" for i in range(400))
    pieces = split_text(f"Run: [1]\n```\n{code}\n```")

    assert len(pieces) > 1
    assert pieces[1].startswith("```\n    indented_line_")
