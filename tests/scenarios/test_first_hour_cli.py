"""The CLI in an admin's first hour: progress that moves, a table that fits 80 columns, errors
that name the real mistake, eval rows per question, latency that is the question's own, and a
scheduler that prints its next run once, correctly."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.errors import ConfigError
from indexer.schedule import cron_trigger
from tests.support.processes import only_json, run_cli, start_scheduler
from tests.support.project import REPO, SAMPLES, handbook_config, write_config


# -- 9. progress and the result table --------------------------------------------------------
def test_index_on_a_terminal_shows_the_model_loading_then_chunks_embedded(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "index"],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(terminal)
    seen = b""
    while process.poll() is None or select.select([controller], [], [], 0.2)[0]:
        if select.select([controller], [], [], 0.2)[0]:
            try:
                seen += os.read(controller, 65536)
            except OSError:  # the process closed the terminal
                break
    os.close(controller)
    table = process.stdout.read().decode() if process.stdout else ""
    assert process.wait(timeout=10) == 0, table
    progress = seen.decode(errors="replace")
    assert "loading the embedding model…" in progress and "loaded the embedding model in" in progress
    counts = {(int(done), int(total)) for done, total in re.findall(r"(\d+)/(\d+) chunks", progress)}
    total = max(t for _, t in counts)
    assert (total, total) in counts and any(0 < done < total for done, _ in counts), counts
    assert re.search(rf"│ handbook │ .* {total} │", table), table  # the bar counted what was embedded


def test_the_result_table_stacks_instead_of_cutting_names_at_80_columns(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    result = run_cli("--config", str(config), "index", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "…" not in result.stdout and all(len(line) <= 80 for line in lines), result.stdout
    assert lines[0].startswith("Indexed in ") and lines[1].startswith("handbook  16 fetched, 16 added")
    assert "chunks embedded" in result.stdout and "errors" in result.stdout
    wide = run_cli("--config", str(config), "index", env={"COLUMNS": "120"})
    assert "┃ source   ┃ fetched ┃" in wide.stdout  # room enough: the table


# -- 10. errors that name the mistake ----------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[sources]]\nname = "h"\ntype = "files"\npaht = "docs"\n',
            "line 4: sources.0.paht: unknown key; did you mean `path`?",
        ),
        (
            "[retrieval]\nk = 5\nmin_scroe = 0.3\n",
            "line 3: retrieval.min_scroe: unknown key; did you mean `min_score`?",
        ),
        (
            '[[sources]]\nname = "w"\ntype = "web"\n\ndata_dirr = "x"\n',
            "line 5: sources.0.data_dirr: unknown key (check the spelling against the README's configuration "
            "reference) (and 1 more problem(s))",
        ),
        ('colour = "red"\n', "line 1: colour: unknown key (check the spelling against the README's configuration"),
    ],
)
def test_an_unknown_key_is_named_first_with_the_key_it_probably_meant(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(write_config(tmp_path, body))
    assert str(raised.value).startswith(f"{tmp_path / 'ragbot.toml'}, {message}"), str(raised.value)
    if "did you mean" in message:  # `path` missing is the same mistake, not "1 more problem"
        assert "more problem" not in str(raised.value)


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ["--set", "hr"],
            "error: --set hr: no source is in a set named 'hr'; the sets are: eng, public "
            "(each source's `sets` in the config)",
        ),
    ],
)
def test_ask_with_a_set_no_source_is_in_says_so_and_lists_the_sets(tmp_path: Path, flags: list[str], line: str) -> None:
    config = write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "handbook"
type = "files"
path = "{SAMPLES}"
[[sources]]
name = "runbooks"
type = "files"
path = "{SAMPLES}"
sets = ["eng"]
""",
    )
    started = time.monotonic()
    result = run_cli("--config", str(config), "ask", "parental leave?", *flags)
    assert result.returncode == 2 and result.stderr.strip() == line
    assert time.monotonic() - started < 20  # said before any model loads


# -- 11. eval per question ---------------------------------------------------------------------
EVAL = [
    {
        "question": "How many weeks of parental leave do parents get?",
        "expected_urls": ["https://handbook.acme.example/time-off.md"],
        "answer_contains": ["16 weeks"],
    },
    {"question": "How much is the on-call stipend?", "expected_urls": ["https://handbook.acme.example/travel.html"]},
    {"question": "What is the CEO's favourite airline?", "expected_urls": [], "answerable": False},
]


def test_eval_lists_each_miss_with_the_expected_page_what_came_instead_and_the_score(
    tmp_path: Path, indexed_config: Path
) -> None:
    cases = tmp_path / "mini.jsonl"
    cases.write_text("".join(json.dumps(case) + "\n" for case in EVAL))

    as_json = run_cli("--config", str(indexed_config), "eval", str(cases), "--json")
    as_text = run_cli("--config", str(indexed_config), "eval", str(cases), env={"COLUMNS": "80"})

    report = only_json(as_json.stdout)
    rows = report["rows"]
    assert report["questions"] == 3 and [row["question"] for row in rows] == [case["question"] for case in EVAL]
    right, wrong, refused = rows
    assert right["miss"] is None and right["rank"] == 1 and right["top_url"].endswith("/time-off.md")
    assert wrong["miss"] == "wrong_page" and wrong["top_url"].endswith("/on-call.md")
    assert wrong["expected_urls"] == EVAL[1]["expected_urls"] and 0 < wrong["top_score"] < 1
    assert refused["miss"] is None and refused["answered"] is False and refused["answerable"] is False
    assert {"answer_contains", "cites_expected_page", "latency_ms"} <= set(right)
    text = as_text.stdout
    assert "questions that missed: 1" in text and "wrong_page" in text and f"{wrong['top_score']:.3f}" in text
    assert "on-call.md" in text.replace("│", "").replace(" ", "").replace("\n", "")  # folded, never cut
    assert "parental leave" not in text.split("questions that missed")[1]  # only the misses


# -- 12. latency is the question's own ----------------------------------------------------------
def test_ask_json_reports_the_question_latency_and_the_model_load_apart(tmp_path: Path) -> None:
    # fp32 (torch): its load takes seconds, so a latency that counted it would show. The int8
    # default loads in ~0.1 s, too close to a question's own time to tell the two apart.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "time-off.md").write_text((SAMPLES / "time-off.md").read_text(encoding="utf-8"), encoding="utf-8")
    config = handbook_config(tmp_path, docs, extra='[embedding]\nprecision = "fp32"\n')
    assert run_cli("--config", str(config), "index").returncode == 0
    result = run_cli("--config", str(config), "ask", "how long is parental leave?", "--json")
    answer = only_json(result.stdout)
    assert answer["answered"] and answer["load_ms"] > 0
    assert answer["latency_ms"] < answer["load_ms"], answer  # loading the encoder takes seconds; a question not


# -- 13. the scheduler's next run ---------------------------------------------------------------
def test_a_jittered_schedule_names_the_same_time_however_often_it_is_asked() -> None:
    trigger = cron_trigger("0 6 * * *", jitter_s=30, timezone="UTC", key="handbook")
    five = datetime(2027, 1, 1, 5, 0, tzinfo=UTC)
    first = trigger.get_next_fire_time(None, five)
    assert {trigger.get_next_fire_time(None, five) for _ in range(20)} == {first}
    assert first.replace(second=0) == datetime(2027, 1, 1, 6, 0, tzinfo=UTC) and 0 <= first.second <= 30
    after_a_run_now = trigger.get_next_fire_time(None, five + timedelta(minutes=2))  # what --run-now recomputes
    assert after_a_run_now == first
    assert trigger.get_next_fire_time(first, first) == first + timedelta(days=1)  # after it ran: tomorrow, same offset
    other = cron_trigger("0 6 * * *", jitter_s=30, timezone="UTC", key="wiki")
    offsets = {cron_trigger("0 6 * * *", 30, "UTC", key=f"s{i}").get_next_fire_time(None, five) for i in range(8)}
    assert other.get_next_fire_time(None, five) != first or len(offsets) > 1  # sources spread out


def test_ragbot_scheduler_prints_each_next_run_once(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES, extra="")
    config.write_text(config.read_text() + 'schedule = "0 6 1 1 *"\n')
    process = start_scheduler(config, {"RAGBOT_HTTP_PORT": "0"})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (tmp_path / "data" / "runs.jsonl").exists():
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    lines = [line for line in (out + err).splitlines() if "next run" in line and "handbook" in line]
    assert len(lines) == 1, out + err
    assert re.fullmatch(
        r"scheduled handbook: next run \d{4}-01-01 06:00:[0-3]\d UTC, and one now \(--run-now\)", lines[0]
    )
