"""Several `ragbot serve` replicas behave like one; each exposes /readyz and /metrics; logs carry no secrets."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

from tests.support.fake_slack import BOT_USER, FakeSlack
from tests.support.processes import run_cli, start_serve
from tests.support.project import SAMPLES, handbook_config
from tests.support.serving import SECRET, TOKEN, free_port, get, signed_event, slack_env, wait_healthy


def metric(text: str, name: str) -> float:
    """The value of one sample line (``name`` includes its labels), 0 if absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def questions(text: str) -> float:
    """Questions a replica handled, whatever their outcome."""
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("ragbot_questions_total{"))


def test_two_replicas_answer_a_redelivered_event_once(tmp_path: Path, fake_slack: FakeSlack) -> None:
    # Two replicas, each with its own copy of the index, sharing chat state (a shared volume).
    shared = tmp_path / "shared-state"
    configs = []
    for name in ("a", "b"):
        root = tmp_path / name
        root.mkdir()
        configs.append(handbook_config(root, SAMPLES, extra=f'[chat]\nstate_dir = "{shared}"\n'))
    assert run_cli("--config", str(configs[0]), "index").returncode == 0
    shutil.copytree(tmp_path / "a" / "data", tmp_path / "b" / "data")
    ports = [free_port(), free_port()]
    processes = []
    for config, port in zip(configs, ports):
        env = slack_env(port, fake_slack.url + "/api/", RAGBOT_LOG_FORMAT="json")
        processes.append(start_serve(config, env))
    try:
        for port, process in zip(ports, processes):
            wait_healthy(port, process)
        for port in ports:
            status, body = get(port, "/readyz")
            assert status == 200 and json.loads(body)["checks"] == {"store": "ok", "collection": "ok", "model": "ok"}

        event = {"type": "app_mention", "user": "U1", "text": f"<@{BOT_USER}> parental leave weeks?", "ts": "7.1"}
        event["channel"] = "C9"
        assert signed_event(ports[0], event) == 200
        assert signed_event(ports[1], event) == 200  # the same event id redelivered to the other replica
        assert signed_event(ports[0], event) == 200  # and retried on the first
        fake_slack.wait_for(lambda: [u for u in fake_slack.calls_to("chat.update") if "16 weeks" in u["text"]])
        # A later question to each replica, answered: each handles its events in order, so by then
        # a duplicate answer would have been posted.
        for n, port in enumerate(ports):
            later = {"type": "app_mention", "user": f"U{n + 2}", "text": f"<@{BOT_USER}> core hours?", "ts": f"8.{n}"}
            assert signed_event(port, {**later, "channel": "C8"}, event_id=f"EvLATER{n}") == 200
        fake_slack.wait_for(
            lambda: len({u["ts"] for u in fake_slack.calls_to("chat.update") if u["channel"] == "C8"}) > 1
        )
        scrapes = [get(port, "/metrics")[1] for port in ports]
    finally:
        outputs = []
        for process in processes:
            process.send_signal(signal.SIGTERM)
            outputs.append(process.communicate(timeout=60)[0])

    answers = [u for u in fake_slack.calls_to("chat.update") if "16 weeks" in u["text"]]
    placeholders = [m for m in fake_slack.calls_to("chat.postMessage") if m.get("channel") == "C9"]
    assert len(answers) == 1 and len(placeholders) == 1
    asked = [questions(s) for s in scrapes]  # the later question each, and the redelivered one once
    assert sorted(asked) == [1.0, 2.0]
    winner = scrapes[asked.index(2.0)]
    assert metric(winner, 'ragbot_questions_total{outcome="answered"}') >= 1
    assert metric(winner, 'ragbot_stage_duration_seconds_count{stage="retrieve"}') == 2
    assert metric(winner, "ragbot_retrieval_hits_total") >= 1
    for output in outputs:
        assert TOKEN not in output and SECRET not in output
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        assert lines and all({"ts", "level", "logger", "request_id", "message"} <= set(line) for line in lines)
    question_lines = [json.loads(line) for out in outputs for line in out.splitlines() if "question from U1" in line]
    assert len(question_lines) == 1 and question_lines[0]["request_id"] != "-"


def test_readyz_is_503_until_the_index_exists(tmp_path: Path) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    port = free_port()
    process = start_serve(config, slack_env(port))
    try:
        wait_healthy(port, process)
        status, body = get(port, "/readyz")
        metrics_status, metrics_text = get(port, "/metrics")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert status == 503
    checks = json.loads(body)["checks"]
    assert checks["store"] == "ok" and "missing" in checks["collection"] and checks["model"] == "ok"
    assert metrics_status == 200 and "# TYPE ragbot_questions_total counter" in metrics_text


def test_a_busy_http_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(
            "--config",
            str(handbook_config(tmp_path, SAMPLES)),
            "serve",
            env=slack_env(port),
        )
    assert result.returncode == 2
    assert f"cannot serve HTTP on 127.0.0.1:{port}" in result.stderr and "RAGBOT_HTTP_PORT" in result.stderr
    assert TOKEN not in result.stderr
