"""Answer units keep the structure that holds the fact: a lead-in with its list or code block,
a table row with its column names, a bold-term label with the sentence that completes it."""

from __future__ import annotations

from bot.blocks import split_blocks
from bot.units import MAX_UNIT_CHARS, answer_units


def texts(markdown: str) -> list[str]:
    return [unit.text for unit in answer_units(markdown)]


def test_a_lead_in_sentence_carries_the_list_it_introduces() -> None:
    units = texts(
        "Updates touching more than 1 million rows must be batched:\n\n"
        "- Use `batch_update` with `--batch-size 10000`.\n"
        "- Sleep 200 ms between batches.\n\n"
        "Smaller updates can run as one statement."
    )

    assert units[0] == (
        "Updates touching more than 1 million rows must be batched:\n"
        "- Use `batch_update` with `--batch-size 10000`.\n"
        "- Sleep 200 ms between batches."
    )
    assert units[1] == "Smaller updates can run as one statement."
    assert len(units) == 2  # the items are not quoted again on their own


def test_a_lead_in_sentence_carries_the_code_block_it_introduces() -> None:
    units = answer_units("To open an incident channel, in Slack, run:\n\n```\n/incident declare sev2\n```\n")

    assert [u.text for u in units] == ["To open an incident channel, in Slack, run:\n```\n/incident declare sev2\n```"]
    assert units[0].kind == "block" and units[0].multiline


def test_a_table_row_is_quoted_with_its_column_names() -> None:
    units = texts("Caps by city:\n\n| City | Nightly cap |\n|---|---|\n| London | EUR 240 |\n| Paris | EUR 210 |\n")

    assert "City: London, Nightly cap: EUR 240" in units
    assert "City: Paris, Nightly cap: EUR 210" in units


def test_a_bold_term_definition_takes_the_sentence_that_completes_it() -> None:
    units = texts(
        "**Connected but internal sites time out**: usually an MTU problem on hotel networks. "
        "Set the MTU to 1380 in the VPN client and reconnect. Ask #it if that fails."
    )

    assert units[0] == (
        "**Connected but internal sites time out**: usually an MTU problem on hotel networks. "
        "Set the MTU to 1380 in the VPN client and reconnect."
    )
    assert units[1] == "Ask #it if that fails."


def test_a_time_with_a_colon_is_not_a_definition() -> None:
    units = texts("Deploys run between 09:00 and 16:00 UTC. Friday deploys need approval.")
    assert units == ["Deploys run between 09:00 and 16:00 UTC.", "Friday deploys need approval."]


def test_a_unit_longer_than_the_limit_is_cut_at_a_line_and_its_fence_closed() -> None:
    code = "\n".join(f"step_{i} --flag value-{i}" for i in range(200))
    units = answer_units(f"Run all of these:\n\n```\n{code}\n```\n")

    (unit,) = units
    assert len(unit.text) <= MAX_UNIT_CHARS
    assert unit.text.startswith("Run all of these:\n```\nstep_0 --flag value-0")
    assert unit.text.endswith("```\n(continued in the source)")
    assert unit.text.count("```") == 2  # opened and closed: chat clients render it as code


def test_blocks_keep_blank_lines_inside_a_fence() -> None:
    blocks = split_blocks("Intro.\n\n```\nline one\n\nline two\n```\nAfter.")
    assert [b.kind for b in blocks] == ["paragraph", "code", "paragraph"]
    assert blocks[1].text == "```\nline one\n\nline two\n```"


def test_content_words_are_found_in_any_script() -> None:
    from bot.terms import content_terms, coverage

    assert content_terms("Wie lange dauert die Prüfung im März?") >= {"prüfung", "märz", "lange"}
    assert content_terms("デプロイの手順") == {"デプロイの手順"}
    assert coverage({"prüfung"}, "Die Prüfung dauert zwei Tage.") == 1.0


def test_unit_vectors_are_shared_safely_between_threads_when_the_cache_is_full(embedder) -> None:  # type: ignore[no-untyped-def]
    import threading

    from bot.generate import extractive
    from bot.generate.extractive import UnitRanker

    ranker = UnitRanker(embedder)
    errors: list[BaseException] = []
    saved = extractive._CACHE_SIZE
    extractive._CACHE_SIZE = 4  # fewer than one call needs: other threads evict what a call just computed

    def work(offset: int) -> None:
        try:
            for round_ in range(6):
                texts = [f"text {offset} {round_} {i}" for i in range(6)] + ["shared text"]
                assert ranker._vectors(texts).shape == (7, embedder.dimension)
        except BaseException as exc:  # noqa: BLE001 - any failure in a thread fails the test
            errors.append(exc)

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        extractive._CACHE_SIZE = saved
    assert not errors, errors
