"""`ragbot gaps` on a seeded question log: the expected groups, their ranking, and the JSON and CSV shapes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.app.commands_gaps import CSV_COLUMNS
from bot.app.settings import load_settings
from bot.chatstate import SqliteChatState
from bot.insights.digest import digest_text
from bot.insights.gaps import ClosestPage, Gap, GapReport
from bot.insights.titles import suggest_title
from tests.support.insights_seed import GYM, HR_ONLY, KUBERNETES, PARKING, seed
from tests.support.processes import only_json, run_cli
from tests.support.project import BASE_URL

GAP_KEYS = {
    "representative",
    "examples",
    "count",
    "askers",
    "suggested_title",
    "closest",
    "reasons",
    "last_asked",
    "sets",
    "restricted",
}


@pytest.fixture(scope="module")
def seeded(indexed_config: Path) -> Path:
    state = SqliteChatState(load_settings(indexed_config).data_dir)
    seed(state)
    state.close()
    return indexed_config


def members(gap: dict) -> set[str]:
    return {gap["representative"], *gap["examples"]}


def test_gaps_json_groups_failed_questions_by_meaning_most_askers_first(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "gaps.csv"
    result = run_cli("--config", str(seeded), "gaps", "--json", "--csv", str(out))

    assert result.returncode == 0, result.stderr
    report = only_json(result.stdout)
    assert set(report) == {"since", "questions", "failed", "gaps", "warnings"}
    assert (report["questions"], report["failed"], report["warnings"]) == (14, 11, [])  # the 60-day-old one is out
    gym, parking, kubernetes, hr = report["gaps"]
    assert all(set(gap) == GAP_KEYS for gap in report["gaps"])
    assert members(gym) <= {q for _, q in GYM} and len(gym["examples"]) == 3
    assert (gym["count"], gym["askers"], gym["reasons"]) == (5, 4, {"refused": 5, "down": 0, "escalated": 0})
    assert members(parking) == {q for _, q in PARKING} and (parking["count"], parking["askers"]) == (3, 3)
    assert members(kubernetes) == {q for _, q in KUBERNETES}
    assert kubernetes["reasons"] == {"refused": 0, "down": 2, "escalated": 1} and kubernetes["askers"] == 1
    assert hr["representative"] == HR_ONLY[1] and hr["restricted"] and hr["sets"] == ["hr", "public"]
    assert "gym" in gym["suggested_title"].lower() and "park" in parking["suggested_title"].lower()
    for gap in report["gaps"]:  # the index's closest pages, best first, so a writer sees where it falls short
        assert 1 <= len(gap["closest"]) <= 3 and all(p["url"].startswith(BASE_URL) for p in gap["closest"])
        assert [p["score"] for p in gap["closest"]] == sorted((p["score"] for p in gap["closest"]), reverse=True)
    assert any("expenses.md" in page["url"] for page in gym["closest"])

    with out.open(newline="", encoding="utf-8") as rows:
        table = list(csv.reader(rows))
    assert tuple(table[0]) == CSV_COLUMNS and len(table) == 1 + len(report["gaps"])
    first = dict(zip(CSV_COLUMNS, table[1]))
    assert (first["rank"], first["representative"], first["count"], first["askers"]) == (
        "1",
        gym["representative"],
        "5",
        "4",
    )
    assert first["closest_url"] == gym["closest"][0]["url"] and first["examples"] == " | ".join(gym["examples"])


def test_a_view_limited_to_public_sets_never_sees_the_hr_question(seeded: Path) -> None:
    result = run_cli("--config", str(seeded), "gaps", "--since", "2d", "--set", "public", "--json")

    assert result.returncode == 0, result.stderr
    report = only_json(result.stdout)
    assert HR_ONLY[1] not in json.dumps(report)
    (gym,) = report["gaps"]  # parking (3 days ago) and kubernetes (2 days and a bit) are older
    assert members(gym) <= {q for _, q in GYM} and gym["count"] == 5 and report["questions"] == 8


def test_the_table_names_each_gap_and_a_bad_window_is_one_clear_error(seeded: Path) -> None:
    table = run_cli("--config", str(seeded), "gaps", "--since", "30d")
    bad = run_cli("--config", str(seeded), "gaps", "--since", "last week")

    assert table.returncode == 0, table.stderr
    assert "coverage gaps, last 30d" in table.stdout and "Can I expense my gym membership?" in table.stdout
    assert "4 gap(s) from 11 of 14" in " ".join(table.stdout.split())
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: --since 'last week': give a number and a unit, e.g. 30d, 12h, 2w or 90m"
    ]


def test_a_suggested_title_is_the_words_the_phrasings_share() -> None:
    gym = [q for _, q in GYM[:4]]
    promotions = ["how does the promotion process work", "who decides on promotions", "when are promotions announced"]

    assert suggest_title(gym[0], gym) == "Gym"  # "gym" is in 3 of 4; nothing else in more than one
    assert suggest_title(promotions[0], promotions) == "Promotion"  # promotion/promotions are one word
    assert suggest_title("Is there parking at the office?", ["Is there parking at the office?"]) == "Parking office"


def test_the_digest_quotes_questions_without_notifying_anyone() -> None:
    gap = Gap(
        representative="<!channel> who owns @everyone's <https://evil|link>?",
        examples=[],
        count=2,
        askers=2,
        suggested_title="Owners",
        reasons={"refused": 2, "down": 0, "escalated": 0},
        last_asked=0.0,
        sets=["public"],
        restricted=False,
        closest=[ClosestPage("Teams › Owners", "https://docs.example/teams#owners", 0.41)],
    )
    report = GapReport(since=None, questions=10, failed=2, gaps=[gap])

    slack = digest_text(report, "slack", days=7)
    discord = digest_text(report, "discord", days=7)

    assert "<!channel>" not in slack and "&lt;!channel&gt;" in slack and "<https://evil|link>" not in slack
    assert "<https://docs.example/teams#owners|Teams › Owners>" in slack
    assert "@everyone" not in discord and "@\u200beveryone" in discord
    assert "[Teams › Owners](<https://docs.example/teams#owners>)" in discord
    assert digest_text(GapReport(None, 5, 0, []), "slack", days=7).endswith(
        "every question found its answer in the docs."
    )
