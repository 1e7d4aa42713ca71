"""Neighbour expansion: a hit brings the chunks around it that continue its section."""

from __future__ import annotations

from pathlib import Path

from bot.app.settings import load_settings
from bot.core import RagCore
from bot.generate.base import build_prompt
from tests.support.project import index_once, write_config

RUNBOOK = """# Rocket runbook

## Launch procedure

{steps}

## Cafeteria

The cafeteria serves soup on Mondays and pasta on Thursdays. Vegetarian options are available every day.
"""

STEPS = [
    "Before launch, the flight director checks the weather report and confirms the wind is calm.",
    "The team lead reads the checklist aloud and every station answers ready or hold.",
    "Fuel loading starts forty minutes before ignition and takes about twenty five minutes.",
    "The launch key is kept in the blue safe in room 301, and only the flight director has the code.",
    "After the key is turned, the countdown runs from ten and can be stopped by any station calling hold.",
    "When the rocket clears the tower, the range officer confirms the trajectory on the big screen.",
    "Telemetry is recorded for the whole flight and archived on the shared drive the next morning.",
]


def runbook_core(tmp_path: Path, embedder, neighbours: int) -> RagCore:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "runbook.md").write_text(RUNBOOK.format(steps="\n\n".join(STEPS * 2)), encoding="utf-8")
    config = write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"
[chunking]
max_tokens = 48
overlap_tokens = 0
[retrieval]
neighbours = {neighbours}
[[sources]]
name = "ops"
path = "{docs}"
""",
    )
    settings = load_settings(config)
    index_once(settings, embedder)
    return RagCore(settings)


def test_a_hit_brings_its_same_section_neighbours_in_document_order(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    core = runbook_core(tmp_path, embedder, neighbours=1)
    try:
        (source,) = core.retriever.retrieve("where is the launch key kept?", k=1)
        hit_indexes = {p.chunk_index for p in source.passages}
        context_indexes = {p.chunk_index for p in source.context}
        assert "blue safe" in source.best.text
        assert context_indexes, "no neighbours were added"
        assert not context_indexes & hit_indexes
        assert all(min(abs(i - h) for h in hit_indexes) == 1 for i in context_indexes)
        assert all(p.section == source.best.section for p in source.context)
        reading = [p.chunk_index for p in source.reading]
        assert reading == sorted(reading) and set(reading) == hit_indexes | context_indexes
        prompt = build_prompt("where is the launch key kept?", [source])
        assert any(p.text.split()[0] in prompt for p in source.context)
    finally:
        core.close()


def test_neighbours_stop_at_the_section_boundary(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    core = runbook_core(tmp_path, embedder, neighbours=3)
    try:
        (source,) = core.retriever.retrieve("what does the cafeteria serve on monday?", k=1)
        assert "soup" in source.best.text
        assert source.best.section.endswith("Cafeteria")
        # Every neighbour continues the section of a hit within 3 chunks of it: the launch steps just
        # before the cafeteria section come only as neighbours of a launch hit, never of this one.
        for passage in source.context:
            assert any(
                hit.section == passage.section and abs(hit.chunk_index - passage.chunk_index) <= 3
                for hit in source.passages
            )
    finally:
        core.close()


def test_expansion_can_be_turned_off(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    core = runbook_core(tmp_path, embedder, neighbours=0)
    try:
        (source,) = core.retriever.retrieve("where is the launch key kept?", k=1)
        assert source.context == [] and source.reading == sorted(source.passages, key=lambda p: p.chunk_index)
    finally:
        core.close()
