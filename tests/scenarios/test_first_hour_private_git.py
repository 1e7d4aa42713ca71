"""The README's recipe for a private git repository over HTTPS, run for real: the token lives in a
file, deploy/compose.git-https.yml's credential helper hands it to git, and it never shows up in
the output, the run history or the doctor's report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.git_http import PrivateGitServer
from tests.support.processes import only_json, run_cli
from tests.support.project import REPO, SAMPLES, write_config

TOKEN = "Rk7pQ2vXz9LmWt4Ns8Hd"
OVERRIDE = REPO / "deploy" / "compose.git-https.yml"


def compose_value(value: str) -> str:
    """A value as docker compose hands it to the container: ``${VAR:-default}`` (the variable
    unset here) becomes its default, and ``$$`` a single ``$``."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    return value.replace("$$", "$")


def helper_env(token_file: Path) -> dict[str, str]:
    """The indexer service's environment from the override, the secret at ``token_file``."""
    environment = yaml.safe_load(OVERRIDE.read_text())["services"]["indexer"]["environment"]
    return {
        key: compose_value(str(value)).replace("/run/secrets/git_token", str(token_file))
        for key, value in environment.items()
    }


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[PrivateGitServer]:
    work, root = tmp_path / "work", tmp_path / "repos"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    shutil.copytree(SAMPLES, work)
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "docs"], check=True)
    root.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "handbook.git")], check=True)
    private = PrivateGitServer(root, "x-access-token", TOKEN)
    yield private
    private.close()


def config_for(tmp_path: Path, server: PrivateGitServer) -> Path:
    return write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"

[[sources]]
name = "private-handbook"
type = "git"
repo = "{server.url}/handbook.git"
branch = "main"
timeout_s = 60
""",
    )


def test_a_token_from_a_secret_file_indexes_a_private_repository_and_never_shows(
    tmp_path: Path, server: PrivateGitServer
) -> None:
    token_file = tmp_path / "secrets" / "git_token"
    token_file.parent.mkdir()
    token_file.write_text(TOKEN)
    config = config_for(tmp_path, server)
    env = helper_env(token_file)
    assert TOKEN not in json.dumps(env)  # the environment only points at the file

    doctor = run_cli("--config", str(config), "doctor", "--json", env={**env, "RAGBOT_HTTP_PORT": "0"})
    indexed = run_cli("--config", str(config), "index", "--json", env=env)

    source = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "source private-handbook")
    assert source["status"] == "ok", source
    assert indexed.returncode == 0, indexed.stderr
    (report,) = only_json(indexed.stdout)["sources"]
    assert report["status"] == "ok" and report["added"] > 5
    assert any(header and header.startswith("Basic ") for header in server.auth_headers)
    history = (tmp_path / "data" / "runs.jsonl").read_text()
    for text in (doctor.stdout, doctor.stderr, indexed.stdout, indexed.stderr, history):
        assert TOKEN not in text


def test_without_the_token_the_source_fails_with_what_to_do(tmp_path: Path, server: PrivateGitServer) -> None:
    config = config_for(tmp_path, server)

    doctor = run_cli("--config", str(config), "doctor", "--json", env={"RAGBOT_HTTP_PORT": "0"})
    indexed = run_cli("--config", str(config), "index", "--json")

    source = next(c for c in json.loads(doctor.stdout)["checks"] if c["check"] == "source private-handbook")
    assert source["status"] == "fail" and "deploy key or token" in source["fix"], source
    assert doctor.returncode == 1
    (report,) = only_json(indexed.stdout)["sources"]
    assert indexed.returncode == 1 and report["status"] == "failed"
    assert "nothing was changed" in report["errors"][0]
