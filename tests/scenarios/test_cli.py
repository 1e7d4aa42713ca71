"""The CLI contract, run as a user runs it: fresh processes, JSON on stdout, errors on stderr."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from bot.answerability import Signals
from tests.support.processes import only_json, run_cli
from tests.support.project import BASE_URL, SAMPLES, handbook_config

INDEX_KEYS = {"name", "added", "updated", "deleted", "unchanged", "chunks_embedded", "errors"}
RUN_KEYS = {"fetched", "failed", "complete", "status", "warnings", "started_at", "finished_at"}  # run history extras


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config whose data dir holds the indexed sample handbook."""
    root = tmp_path_factory.mktemp("indexed")
    config = handbook_config(root, SAMPLES)
    result = run_cli("--config", str(config), "index", "--json")
    assert result.returncode == 0, result.stderr
    return config


def test_index_json_reports_counts_per_source(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)

    first = run_cli("--config", str(config), "index", "--json")
    second = run_cli("--config", str(config), "index", "--json", "--source", "handbook")

    assert first.returncode == 0, first.stderr
    report = only_json(first.stdout)
    assert set(report) == {"sources", "seconds"} and report["seconds"] > 0
    (source,) = report["sources"]
    assert set(source) == INDEX_KEYS | RUN_KEYS
    assert source["status"] == "ok" and source["complete"] and source["fetched"] == source["added"]
    assert source["name"] == "handbook" and source["added"] == len(list(SAMPLES.iterdir()))
    assert source["chunks_embedded"] > source["added"] and source["errors"] == []
    again = only_json(second.stdout)["sources"][0]
    assert again["chunks_embedded"] == 0 and again["unchanged"] == source["added"]


def test_ask_json_answers_with_numbered_deep_linked_sources(indexed: Path) -> None:
    result = run_cli("--config", str(indexed), "ask", "how do I roll back a bad deploy?", "--json")

    assert result.returncode == 0, result.stderr
    answer = only_json(result.stdout)
    assert set(answer) == {"answer", "answered", "sources", "latency_ms", "load_ms"}
    assert answer["answered"] is True and "Rollback" in answer["answer"] and "[1]" in answer["answer"]
    first = answer["sources"][0]
    assert set(first) == {"n", "title", "url", "score", "snippet"}
    assert first["n"] == 1 and first["url"] == BASE_URL + "deploys.md#rolling-back"
    assert [s["n"] for s in answer["sources"]] == list(range(1, len(answer["sources"]) + 1))
    urls = [s["url"].split("#")[0] for s in answer["sources"]]
    assert len(urls) == len(set(urls)), "sources are distinct documents"
    assert isinstance(answer["latency_ms"], float)


def test_ask_says_so_when_the_docs_do_not_cover_it(indexed: Path) -> None:
    result = run_cli("--config", str(indexed), "ask", "who won the football match yesterday?", "--json")

    answer = only_json(result.stdout)
    assert result.returncode == 0
    assert answer["answered"] is False
    assert "couldn't find" in answer["answer"]
    assert answer["sources"], "the closest sources are still listed"


def test_ask_in_plain_text_prints_answer_and_sources(indexed: Path) -> None:
    result = run_cli("--config", str(indexed), "ask", "how many vacation days do we get", "--k", "3")

    assert result.returncode == 0, result.stderr
    assert "28 days" in result.stdout
    assert "Sources:" in result.stdout and f"[1] Time off › Vacation - {BASE_URL}time-off.md#vacation" in result.stdout


def test_ask_can_be_limited_to_one_source(indexed: Path) -> None:
    result = run_cli("--config", str(indexed), "ask", "per diem", "--source", "nope")
    assert result.returncode == 2
    assert "unknown source 'nope'" in result.stderr and "handbook" in result.stderr


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "the question is empty"), ("   \n\t ", "the question is empty"), ("why " * 25_000, "the limit is 4000")],
)
def test_unusable_questions_get_a_one_line_error(indexed: Path, question: str, message: str) -> None:
    result = run_cli("--config", str(indexed), "ask", question, "--json")

    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_asking_before_indexing_says_what_to_do(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    result = run_cli("--config", str(config), "ask", "how do I deploy?")
    assert result.returncode == 2
    assert "run `ragbot index` first" in result.stderr


def test_status_lists_sources_store_and_model(indexed: Path) -> None:
    result = run_cli("--config", str(indexed), "status", "--json")

    assert result.returncode == 0, result.stderr
    status = only_json(result.stdout)
    assert status["store"]["backend"] == "embedded (qdrant-edge)"
    assert status["embedding_model"] == "all-MiniLM-L6-v2"
    (source,) = status["sources"]
    assert source["name"] == "handbook" and source["documents"] == len(list(SAMPLES.iterdir()))
    assert source["chunks"] == status["store"]["chunks"] and source["last_run"]
    assert source["last_error"] is None


def test_a_missing_source_folder_fails_the_run_with_json_errors(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, tmp_path / "not-there")

    result = run_cli("--config", str(config), "index", "--json")

    assert result.returncode == 1
    source = only_json(result.stdout)["sources"][0]
    assert "does not exist" in source["errors"][0]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_qdrant_server_that_is_down_gets_a_clear_error(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    env = {"QDRANT_URL": f"http://127.0.0.1:{_closed_port()}"}

    index = run_cli("--config", str(config), "index", "--json", env=env)
    ask = run_cli("--config", str(config), "ask", "how do I deploy?", env=env)

    assert index.returncode != 0
    assert "qdrant unreachable at http://127.0.0.1:" in only_json(index.stdout)["sources"][0]["errors"][0]
    assert ask.returncode == 2 and "qdrant unreachable at" in ask.stderr and "QDRANT_URL" in ask.stderr
    assert "Traceback" not in ask.stderr + index.stderr


def test_index_refuses_to_run_a_source_twice_at_once(indexed: Path) -> None:
    from bot.app.settings import load_settings
    from indexer.runner import _source_lock

    with _source_lock(load_settings(indexed).data_dir, "handbook"):
        result = run_cli("--config", str(indexed), "index", "--json")

    assert result.returncode == 2
    assert "already being indexed" in only_json(result.stdout)["sources"][0]["errors"][0]


def test_eval_reports_retrieval_answer_and_refusal_metrics(indexed: Path) -> None:
    result = run_cli("--config", str(indexed), "eval", str(SAMPLES.parent / "eval.jsonl"), "--json")

    assert result.returncode == 0, result.stderr
    summary = only_json(result.stdout)
    assert summary["questions"] == len((SAMPLES.parent / "eval.jsonl").read_text().splitlines())
    assert set(summary) >= {"hit@1", "hit@5", "mrr@10", "answer_contains", "refusal_accuracy", "false_refusals"}
    assert summary["hit@5"] >= 0.95 and summary["refusal_accuracy"] >= 0.8
    assert summary["latency_ms_p95"] >= summary["latency_ms_p50"] > 0


def test_eval_explain_lists_each_miss_with_the_decision_inputs(indexed: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"question": "how many vacation days do we get", "expected_urls": ["https://nowhere.example/x"]})
        + "\n"
        + json.dumps({"question": "how do I configure the espresso machine", "expected_urls": [], "answerable": False})
        + "\n"
    )

    result = run_cli("--config", str(indexed), "eval", str(cases), "--json", "--explain")

    assert result.returncode == 0, result.stderr
    (miss,) = only_json(result.stdout)["misses"]  # the refused espresso question is no miss
    assert miss["question"] == "how many vacation days do we get" and miss["miss"] == "wrong_page"
    assert set(miss["decision"]) == {"probability", *Signals.FEATURES}
    table = run_cli("--config", str(indexed), "eval", str(cases), "--explain", env={"COLUMNS": "200"})
    assert "misses: 1" in table.stdout and "p(answer)" in table.stdout


def test_eval_names_the_bad_line(indexed: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "expected_urls": []}\n{"expected_urls": []}\n')

    result = run_cli("--config", str(indexed), "eval", str(bad))

    assert result.returncode == 2 and "bad.jsonl, line 2: not an eval case" in result.stderr
