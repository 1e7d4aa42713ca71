"""``ragbot init`` (write a commented config) and ``ragbot doctor`` (check a set-up)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import InputError

if TYPE_CHECKING:
    from bot.app.init_config import Kind

__all__ = ["register", "run_init", "run_doctor"]

_MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}


def register(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="write a commented ragbot.toml for a folder, a git repository or a website",
        description="Write a commented ragbot.toml (or the --config path); asks when run in a terminal "
        "without --folder, --git or --url. Never overwrites a file.",
    )
    what = init.add_mutually_exclusive_group()
    what.add_argument("--folder", metavar="PATH", help="index the docs in this folder")
    what.add_argument("--git", metavar="URL", help="index a git repository (URL or local path)")
    what.add_argument("--url", metavar="URL", help="crawl a docs website from this start page")
    init.add_argument("--name", help="the source's name (default: from the folder, repository or host)")
    init.add_argument("--branch", help="git: the branch (default: the repository's default branch)")
    init.set_defaults(run=run_init)

    doctor = commands.add_parser("doctor", help="check the config, sources, store, models, tokens, port and disk")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    doctor.set_defaults(run=run_doctor)


# -- init ----------------------------------------------------------------------------------
def run_init(args: argparse.Namespace) -> int:
    from bot.app.init_config import SourceChoice, default_branch, refuse_existing, source_name, write_config

    path = Path(args.config or "ragbot.toml")
    refuse_existing(path)  # before any question: nothing the user answers could be written
    kind: Kind
    if args.folder is not None:
        kind, target = "files", args.folder
    elif args.git is not None:
        kind, target = "git", args.git
    elif args.url is not None:
        kind, target = "web", args.url
    elif sys.stdin.isatty():
        kind, target = _ask_source()
    else:
        raise InputError("ragbot init needs --folder PATH, --git URL or --url URL when not run in a terminal")
    name = args.name or source_name(kind, target)
    branch = args.branch or "main"
    if kind == "git" and not args.branch:
        branch = default_branch(target) or "main"
    if sys.stdin.isatty() and args.folder is None and args.git is None and args.url is None:
        name = _ask("Source name", name)
        if kind == "git":
            branch = _ask("Branch", branch)
    written = write_config(path, SourceChoice(kind, target, name, branch))
    print(f"wrote {written}: one {kind} source, {name!r}")
    config_flag = f" --config {written}" if args.config else ""
    print(f"next: ragbot{config_flag} doctor, then ragbot{config_flag} index")
    return 0


def _ask(question: str, default: str) -> str:
    answer = input(f"{question} [{default}]: ").strip()
    return answer or default


def _ask_source() -> tuple[Kind, str]:
    print("What should ragbot index?")
    print("  1) a folder of docs on this machine\n  2) a git repository\n  3) a docs website")
    while True:
        choice = _ask("Choose 1, 2 or 3", "1")
        if choice in ("1", "2", "3"):
            break
        print("  please answer 1, 2 or 3")
    if choice == "1":
        return "files", _ask("Folder", "docs")
    if choice == "2":
        while not (repo := input("Repository URL or path: ").strip()):
            pass
        return "git", repo
    while not (url := input("Start page URL (https://...): ").strip()):
        pass
    return "web", url


# -- doctor --------------------------------------------------------------------------------
def run_doctor(args: argparse.Namespace) -> int:
    from bot.app.common import print_json
    from bot.app.doctor import run_checks
    from bot.logs import redact

    findings = run_checks(args.config)
    failed = any(f.status == "fail" for f in findings)
    if args.json:
        print_json({"ok": not failed, "checks": [f.to_json() for f in findings]})
        return 1 if failed else 0
    width = max(len(f.check) for f in findings)
    for finding in findings:
        line = f"{_MARKS[finding.status]}  {finding.check:<{width}}  {finding.detail}"
        if finding.fix:
            line += f"\n      {'':<{width}}  fix: {finding.fix}"
        print(redact(line))
    problems = sum(f.status == "fail" for f in findings)
    warnings = sum(f.status == "warn" for f in findings)
    print(f"\n{problems} problem(s), {warnings} warning(s)" if problems or warnings else "\neverything looks right")
    return 1 if failed else 0
