"""Configuration: file lookup, env overrides, and errors that name the key and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.errors import ConfigError
from tests.support.processes import run_cli
from tests.support.project import write_config


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.data_dir == tmp_path / ".ragbot" and settings.store.url is None
    assert settings.generator.backend == "extractive" and settings.sources == []


def test_env_vars_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, 'data_dir = "from-file"\n[generator]\nbackend = "extractive"\n')
    monkeypatch.setenv("RAGBOT_CONFIG", str(config))
    monkeypatch.setenv("RAGBOT_DATA_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("RAGBOT_GENERATOR", "transformers")
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:6333")

    settings = load_settings()

    assert settings.data_dir == tmp_path / "from-env"
    assert settings.generator.backend == "transformers"
    assert settings.server_mode


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, 'data_dir = "state"\n[[sources]]\nname = "docs"\npath = "docs"\n')
    monkeypatch.chdir(tmp_path.parent)

    settings = load_settings(config)

    assert settings.sources[0].path == (tmp_path / "docs").resolve()
    assert settings.data_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('data_dir = ".ragbot"\n[store\nurl = "x"\n', "invalid TOML"),
        ("[retrieval]\nk = 5\nmin_scroe = 0.3\n", "line 3: retrieval.min_scroe: unknown key"),
        (
            '[[sources]]\nname = "a"\npath = "x"\n\n[[sources]]\nname = "b"\ntype = "ftp"\npath = "y"\n',
            "line 7: sources.1.type",
        ),
        ('[[sources]]\nname = "a"\n', "sources.0.path: required key is missing"),
        ('[generator]\nbackend = "gpt-9"\n', "line 2: generator.backend"),
        ("[chunking]\nmax_tokens = 100\noverlap_tokens = 80\n", "must be less than half of max_tokens"),
    ],
)
def test_bad_config_names_the_key_and_line(tmp_path: Path, body: str, expected: str) -> None:
    config = write_config(tmp_path, body)
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        load_settings(config)


def test_cli_reports_bad_config_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[retrieval]\nk = "many"\n')

    result = run_cli("--config", str(config), "status")

    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "line 2: retrieval.k" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_chat_platform_settings_come_from_the_environment_through_the_one_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_BOT_TOKEN", " xoxb-1 ")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("SLACK_ADMIN_USER_IDS", "U1, U2,")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "d-token")
    monkeypatch.setenv("DISCORD_GUILD_IDS", "1, 2")
    monkeypatch.setenv("DISCORD_MESSAGE_CONTENT", "yes")
    monkeypatch.setenv("DISCORD_API_URL", "http://127.0.0.1:9/api/v10/")

    settings = load_settings()

    assert settings.slack is not None and settings.discord is not None
    assert settings.slack.bot_token == "xoxb-1" and not settings.slack.socket_mode
    assert settings.slack.api_url == "http://127.0.0.1:9/api/" and settings.slack.admin_user_ids == {"U1", "U2"}
    assert settings.discord.guild_ids == {1, 2} and settings.discord.message_content
    assert settings.discord.api_url == "http://127.0.0.1:9/api/v10"
    assert "xoxb-1" not in repr(settings.slack) and "d-token" not in repr(settings.discord)


def test_a_platform_without_its_bot_token_is_not_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("DISCORD_GUILD_IDS", "1")

    settings = load_settings()

    assert settings.slack is None and settings.discord is None


def test_a_bad_platform_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "d-token")
    monkeypatch.setenv("DISCORD_GUILD_IDS", "general")

    with pytest.raises(ConfigError, match="DISCORD_GUILD_IDS .*comma-separated list of numeric Discord ids"):
        load_settings()


def test_tokens_are_never_read_from_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'collection = "docs"\n\n[slack]\nbot_token = "xoxb-in-a-file"\n')

    with pytest.raises(ConfigError, match="line 3: slack: unknown key") as raised:
        load_settings(config)
    assert "xoxb-in-a-file" not in str(raised.value)


def test_slack_without_a_way_to_receive_events_fails_serve_but_not_other_commands(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'data_dir = "{tmp_path / "data"}"\n')
    env = {"SLACK_BOT_TOKEN": "xoxb-never-printed"}

    status = run_cli("--config", str(config), "status", "--json", env=env)
    serve = run_cli("--config", str(config), "serve", env=env)

    assert status.returncode == 0, status.stderr
    assert serve.returncode == 2 and "set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET" in serve.stderr
    assert "xoxb-never-printed" not in serve.stderr
