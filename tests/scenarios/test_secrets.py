"""No secret reaches a person: CLI error lines, logs, chat replies and /readyz go through one
redactor that masks URL credentials and every configured secret, whole or in pieces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import MIN_SECRET_PIECE, redact, register_secrets
from tests.support.fake_qdrant import FakeQdrant, running_fake_qdrant
from tests.support.processes import run_cli
from tests.support.project import SAMPLES, handbook_config

API_KEY = "qk-9f8e7d6c5b4a3928171605f4e3d2c1b"  # 33 characters, like the key in the bug report
PASSWORD = "Zq7-pW4x-kT9m"


def pieces(secret: str) -> list[str]:
    """Every run of MIN_SECRET_PIECE characters of ``secret``: none may be printed."""
    return [secret[i : i + MIN_SECRET_PIECE] for i in range(len(secret) - MIN_SECRET_PIECE + 1)]


def leaked(text: str, *secrets: str) -> list[str]:
    return [piece for secret in secrets for piece in pieces(secret) if piece in text]


@pytest.fixture()
def echoing_proxy() -> Iterator[FakeQdrant]:
    """A "Qdrant" behind a proxy that answers 403 with the request headers (cut to 28 characters)."""
    with running_fake_qdrant(echo_headers=True, echo_status=403) as fake:
        yield fake


def test_a_proxy_that_echoes_headers_cannot_make_the_cli_print_the_api_key(
    tmp_path: Path, echoing_proxy: FakeQdrant
) -> None:
    config = handbook_config(tmp_path, SAMPLES)
    url = echoing_proxy.url.replace("http://", f"http://admin:{PASSWORD}@")
    env = {"QDRANT_URL": url, "QDRANT_API_KEY": API_KEY}

    ask = run_cli("--config", str(config), "-v", "ask", "how do I deploy?", env=env)
    status = run_cli("--config", str(config), "-v", "status", env=env)

    assert echoing_proxy.headers_seen and echoing_proxy.headers_seen[0]["api-key"] == API_KEY  # it was sent
    for result in (ask, status):
        assert result.returncode == 2
        error = [line for line in result.stderr.splitlines() if line.startswith("error:")][0]
        assert "refused" in error and "http://***@127.0.0.1" in error  # says what failed, and where
        assert leaked(result.stdout + result.stderr, API_KEY, PASSWORD) == []


def test_the_redactor_masks_configured_secrets_whole_cut_and_inside_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-abcdefABCDEF")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "MTA4.discord.Token-Value-9")
    register_secrets("cfg-file-key-31337")
    line = (
        "error: upstream said {'api-key': 'qk-9f8e7d6c5b4a39281716'} for https://bot:Zq7-pW4x@qdrant.example:6333/x; "
        "token MTA4.discord.Tok and xoxb-1111-2222-abc and key cfg-file-key-313"
    )
    register_secrets(API_KEY)

    shown = redact(line)

    assert (
        leaked(shown, API_KEY, "xoxb-1111-2222-abcdefABCDEF", "MTA4.discord.Token-Value-9", "cfg-file-key-31337") == []
    )
    assert "Zq7-pW4x" not in shown and "https://***@qdrant.example:6333/x" in shown
    assert shown.startswith("error: upstream said") and "for https://" in shown  # the rest still reads


def test_index_json_and_table_mask_a_secret_that_a_source_error_quotes(tmp_path: Path) -> None:
    missing = tmp_path / f"docs-{API_KEY}"  # an error message that quotes a configured secret
    config = handbook_config(tmp_path, missing)
    env = {"QDRANT_API_KEY": API_KEY, "RAGBOT_STORE_BACKEND": "edge"}

    as_json = run_cli("--config", str(config), "index", "--json", env=env)
    as_table = run_cli("--config", str(config), "index", env=env)

    assert "docs-[redacted]" in as_json.stdout, as_json.stdout
    assert not leaked(as_json.stdout + as_json.stderr + as_table.stdout + as_table.stderr, API_KEY)
