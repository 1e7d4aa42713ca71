"""The git source: files at a branch head, cited through a web URL pattern."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.app.settings import AppSettings, load_settings
from bot.core import RagCore
from bot.embedder import Embedder
from bot.store import open_store
from indexer.sources.git import redact
from tests.support.project import SAMPLES, index_once, write_config

PATTERN = "https://git.acme.example/docs/blob/{branch}/{path}"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    ).stdout


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository whose `main` holds the handbook under docs/ and a README outside it."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch", "main")
    for page in SAMPLES.iterdir():
        (root / "docs" / page.name).write_bytes(page.read_bytes())
    (root / "README.md").write_text("# Repo\n\nNot part of the docs folder.\n")
    (root / "docs" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "docs")
    return root


def git_settings(tmp_path: Path, repo: str, extra: str = "") -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "handbook"
type = "git"
repo = "{repo}"
branch = "main"
subdir = "docs"
url_pattern = "{PATTERN}"
{extra}
""",
        )
    )


def stored(settings: AppSettings) -> dict[str, str]:
    store = open_store(settings)
    try:
        return {d.split(":", 1)[1]: s.content_hash for d, s in store.document_states().items()}
    finally:
        store.close()


def test_indexes_the_branch_head_and_follows_commits(tmp_path: Path, repo: Path, embedder: Embedder) -> None:
    settings = git_settings(tmp_path, str(repo))
    (repo / "docs" / "uncommitted.md").write_text("# Draft\n\nNot committed, so not indexed.\n")

    first = index_once(settings, embedder)

    pages = sorted(p.name for p in SAMPLES.iterdir())
    assert first.added == len(pages) and not first.failed and first.complete
    assert sorted(stored(settings)) == pages  # no README (outside docs/), no png, no uncommitted draft

    (repo / "docs" / "deploys.md").write_text("# Deploys\n\nThe deploy freeze starts on Thursday at 18:00.\n")
    git(repo, "rm", "--quiet", "docs/travel.html")
    (repo / "docs" / "backups.md").write_text("# Backups\n\nSnapshots run every hour.\n")
    git(repo, "add", "docs/deploys.md", "docs/backups.md")  # the draft stays uncommitted
    git(repo, "commit", "--quiet", "-m", "edit")

    second = index_once(settings, embedder)

    assert (second.added, second.updated, second.deleted) == (1, 1, 1)
    assert second.unchanged == len(pages) - 2
    core = RagCore(settings)
    try:
        answer = core.ask("when does the deploy freeze start?")
    finally:
        core.close()
    assert "Thursday at 18:00" in answer.text
    assert answer.citations[0].url == PATTERN.format(branch="main", path="docs/deploys.md") + "#deploys"


def test_unreachable_repository_or_branch_changes_nothing(tmp_path: Path, repo: Path, embedder: Embedder) -> None:
    settings = git_settings(tmp_path, str(repo))
    index_once(settings, embedder)
    before = stored(settings)

    for bad_repo, branch, expected in [
        (str(tmp_path / "nowhere"), "main", "is not a git repository"),
        (str(repo), "release", "cannot read branch 'release'"),
        ("https://user:s3cret@127.0.0.1:9/docs.git", "main", "cannot read branch 'main' of https://***@127.0.0.1:9"),
    ]:
        bad = git_settings(tmp_path, bad_repo)
        bad.sources[0].branch = branch
        report = index_once(bad, embedder)
        assert report.failed and expected in report.errors[0], report.errors
        assert "nothing was changed" in report.errors[0] and "s3cret" not in report.errors[0]
        assert stored(settings) == before


def test_redact_hides_credentials() -> None:
    assert redact("fatal: https://bot:ghp_abc@github.com/x.git") == "fatal: https://***@github.com/x.git"
    assert redact("git@github.com:acme/docs.git") == "git@github.com:acme/docs.git"


def test_config_refuses_option_like_repositories(tmp_path: Path) -> None:
    from bot.errors import ConfigError

    for repo in ("--upload-pack=touch /tmp/x", "ext::sh -c touch% /tmp/pwned"):
        config = write_config(tmp_path, f'[[sources]]\nname = "g"\ntype = "git"\nrepo = "{repo}"\n')
        with pytest.raises(ConfigError, match="repo"):
            load_settings(config)
