"""Discord formatting: 2,000-character messages, 4,096-character embeds, nothing lost, no unfurls."""

from __future__ import annotations

from adapters.discord.format import EMBED_LIMIT, MESSAGE_LIMIT, answer_messages
from bot.models import Answer, Citation


def citation(n: int) -> Citation:
    return Citation(n=n, title=f"Page {n} › Section_{n}", url=f"https://docs.example/p{n}#s", score=0.5, snippet="")


def test_short_answer_is_one_message_with_a_sources_embed() -> None:
    ((content, embeds),) = answer_messages(Answer("q", "Press Rollback [1]", True, [citation(1)]))
    assert content == "Press Rollback [1]"
    assert embeds[0].title == "Sources"
    assert embeds[0].description == "[1] [Page 1 › Section\\_1](<https://docs.example/p1#s>)"


def test_long_answers_split_without_losing_text() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    messages = answer_messages(Answer("q", text, True, [citation(n) for n in range(1, 300)]))
    contents = [c for c, _ in messages if c]
    assert all(len(c) <= MESSAGE_LIMIT for c in contents)
    assert " ".join(contents).split() == text.split()
    embeds = [e for _, es in messages for e in es]
    assert all(len(e.description) <= EMBED_LIMIT for e in embeds) and all(len(es) <= 10 for _, es in messages)
    assert sum(e.description.count("](<") for e in embeds) == 299


def test_doc_text_cannot_ping_everyone() -> None:
    ((content, _),) = answer_messages(Answer("q", "Tell @everyone and @here [1]", True, [citation(1)]))
    assert "@everyone" not in content and "@here" not in content


def test_a_refusal_shows_the_closest_pages() -> None:
    ((_, embeds),) = answer_messages(Answer("q", "I couldn't find this in the docs.", False, [citation(1)]))
    assert embeds[0].title == "Closest pages in the docs"


def test_a_code_block_and_a_table_row_reach_discord_intact_without_mentions() -> None:
    from adapters.discord.format import MESSAGE_LIMIT, answer_messages
    from bot.models import Answer, Citation

    text = "In Slack, run: [1]\n```\n/incident declare @everyone\n```\nCity: London, Nightly cap: EUR 240. [2] <@&42>"
    cites = [Citation(1, "Incidents @here", "https://d/x", 0.5, ""), Citation(2, "Travel", "https://d/t", 0.5, "")]
    messages = answer_messages(Answer("q", text, True, cites))

    content, embeds = messages[0]
    assert "```\n/incident declare @\u200beveryone\n```" in content
    assert "City: London, Nightly cap: EUR 240. [2]" in content
    assert "<@&" not in content and len(content) <= MESSAGE_LIMIT
    description = embeds[0].description or ""
    assert "@here" not in description and "@\u200bhere" in description
    assert embeds[0].to_dict()["title"] == "Sources"  # a valid embed payload
