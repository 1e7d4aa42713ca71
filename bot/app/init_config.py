"""``ragbot init``: write a commented ``ragbot.toml`` for one folder, git repository or website.

The file says what each key does and what to do next, so a new admin edits a working config
instead of starting from the README's reference. It never overwrites a file, and it writes
nothing it has not validated with the real loader.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bot.errors import ConfigError, InputError

__all__ = ["SourceChoice", "check_target", "default_branch", "refuse_existing", "render", "source_name", "write_config"]

Kind = Literal["files", "git", "web"]


@dataclass(frozen=True)
class SourceChoice:
    """What to index: a folder (``files``), a repository (``git``) or a site (``web``)."""

    kind: Kind
    target: str  # folder path, repository URL or path, start URL
    name: str
    branch: str = "main"  # git only


def source_name(kind: Kind, target: str) -> str:
    """A source name from the folder, repository or host: letters, digits, . _ - only."""
    if kind == "web":
        base = urlsplit(target).hostname or "website"
    else:
        base = Path(target.rstrip("/").split(":")[-1]).name.removesuffix(".git") or "docs"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "docs"
    return name[:64]


def default_branch(repo: str, timeout_s: float = 20) -> str | None:
    """The branch HEAD points at (``git ls-remote --symref``); None when git can't tell."""
    from indexer.sources.git import _GIT_ENV  # the indexer's own: no prompts, no ext:: helpers

    remote = repo if "://" in repo or re.match(r"^[\w.-]+@[\w.-]+:", repo) else Path(repo).resolve().as_uri()
    try:
        result = subprocess.run(
            ["git", "-c", "protocol.ext.allow=never", "ls-remote", "--symref", "--", remote, "HEAD"],
            capture_output=True,
            timeout=timeout_s,
            env={**os.environ, **_GIT_ENV},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^ref: refs/heads/(\S+)\s+HEAD$", result.stdout.decode("utf-8", "replace"), re.M)
    return match.group(1) if match else None


def _toml(value: str) -> str:
    """A TOML basic string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_HEADER = """\
# ragbot configuration, written by `ragbot init`. Every key is in the README's configuration
# reference; environment variables override the file (RAGBOT_DATA_DIR, QDRANT_URL, ...).
# Tokens never go in this file: SLACK_BOT_TOKEN with SLACK_APP_TOKEN or SLACK_SIGNING_SECRET,
# and DISCORD_BOT_TOKEN, come from the environment (README: Slack, Discord).
#
# Next:  ragbot doctor          check this set-up and say what to fix
#        ragbot index           index the docs (once; `ragbot serve` then keeps them fresh)
#        ragbot ask "..."       answer a question from them
#        ragbot serve           answer in Slack and Discord

data_dir = ".ragbot"          # the embedded index, run history, crawl state (relative to this file)
collection = "ragbot"

[[sources]]
name = {name}{name_pad}# letters, digits, . _ -: `ragbot index --source NAME`, /ragbot reindex NAME
"""

_FILES = """\
type = "files"                # a folder on this machine
path = {target}{target_pad}# relative to this file; in Docker: the path inside the container (/docs)
# base_url = "https://docs.example.com/"   # citations link to base_url + file path + #section;
                              #   without it they read file:<name>/<path>
# include = ["**/*.md", "**/*.markdown", "**/*.rst", "**/*.html", "**/*.htm", "**/*.txt"]
# ignore = [".git/**", "**/node_modules/**", "**/.*/**", "**/_build/**"]
"""

_GIT = """\
type = "git"                  # the files at the head of one branch
repo = {target}{target_pad}# https://, git@host:path, or a local path (private: README, Run with Docker)
branch = {branch}
# subdir = "docs"             # only this folder of the repository
# url_pattern = "https://git.example.com/docs/blob/{{branch}}/{{path}}"   # citation links ({{commit}} too)
# include = ["**/*.md", "**/*.rst"]
"""

_WEB = """\
type = "web"                  # crawl a docs site: start pages, sitemap, then links on the same host
urls = [{target}]
sitemap = true                # /sitemap.xml and robots.txt's Sitemap lines
robots = true                 # honour robots.txt (false only for a site you run)
max_pages = 5000              # a crawl that reaches this deletes nothing
# include = ["/guide/*"]      # only these paths
# exclude = ["/_sources/*", "/genindex*"]
"""

_FOOTER = """\
schedule = "0 * * * *"        # re-index hourly inside `ragbot serve` (cron); remove to index by hand only
sets = ["public"]             # who may read it: see [access]

[generator]
backend = "extractive"        # quotes the docs; "transformers" (a local model) or "openai" (any compatible server)

# [access]                    # which document sets each chat conversation may search
# default = ["public"]        # channels without a rule
# dm = ["public"]             # direct messages
# [[access.rules]]
# slack_channel = "C0123HRTEAM"
# sets = ["public", "hr"]
"""


def _pad(value: str, width: int = 30) -> str:
    return " " * max(1, width - len("name = ") - len(value))


def render(choice: SourceChoice, config_dir: Path) -> str:
    """The commented TOML for ``choice``; a folder is written relative to the config's folder
    when it lies inside it (so the pair can move together), else absolute."""
    target = choice.target
    if choice.kind == "files":
        folder = Path(target).expanduser().resolve()
        try:
            target = folder.relative_to(config_dir.resolve()).as_posix() or "."
        except ValueError:
            target = str(folder)
    elif choice.kind == "git" and not ("://" in target or re.match(r"^[\w.-]+@[\w.-]+:", target)):
        target = str(Path(target).expanduser().resolve())
    quoted = _toml(target)
    body = {"files": _FILES, "git": _GIT, "web": _WEB}[choice.kind].format(
        target=quoted, target_pad=" " * max(1, 23 - len(quoted)), branch=_toml(choice.branch)
    )
    name = _toml(choice.name)
    return _HEADER.format(name=name, name_pad=_pad(name)) + body + _FOOTER


def check_target(choice: SourceChoice) -> None:
    """InputError for a target that can't be right whatever else is configured."""
    if choice.kind == "files":
        folder = Path(choice.target).expanduser()
        if not folder.is_dir():
            raise InputError(f"--folder {choice.target}: no such folder; give the folder that holds your docs")
    elif choice.kind == "web":
        parts = urlsplit(choice.target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"--url {choice.target}: give the docs site's start page, http(s)://host/...")
    elif not choice.target.strip() or choice.target.startswith("-"):
        raise InputError("--git: give the repository's URL (https://, git@host:path) or a local path")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", choice.name):
        raise InputError(f"--name {choice.name!r}: use letters, digits, dot, underscore and dash only")


def refuse_existing(path: Path) -> None:
    """ConfigError when ``path`` exists: init never overwrites a config."""
    if path.exists():
        raise ConfigError(
            f"{path} already exists; ragbot init never overwrites a file: move it away, or pass --config NEW.toml"
        )


def write_config(path: Path, choice: SourceChoice) -> Path:
    """Write the file; ConfigError if it exists. The text is loaded back with the real loader
    first, so ``init`` never leaves a file that ``doctor`` or ``index`` would refuse."""
    check_target(choice)
    refuse_existing(path)
    text = render(choice, path.parent if str(path.parent) else Path("."))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8") as file:  # "x": a file created meanwhile is not clobbered
        file.write(text)
    try:
        from bot.app.settings import load_settings

        load_settings(path)
    except ConfigError:
        path.unlink()
        raise
    return path
