"""Configuration: file lookup, env overrides, and errors that name the key and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, write_config

from bot.app.settings import load_settings
from bot.errors import ConfigError


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
