"""The layering holds: the core never imports the indexer or the adapters, the indexer never
imports the adapters, and only the composition root (bot/app/) wires them together.

Imports are read with ``ast`` from every module, imports inside functions and under
``TYPE_CHECKING`` included: a lazy import hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = "bot.app"

# (importing package, imported package): edges that must not exist.
FORBIDDEN = [
    ("bot", "indexer"),
    ("bot", "adapters"),
    ("indexer", "adapters"),
    ("indexer", ROOT),
    ("adapters", ROOT),
    ("adapters", "indexer"),
]


def module_name(path: Path, repo: Path) -> str:
    parts = list(path.relative_to(repo).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, anywhere in it; relative imports resolved against ``module``."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if node.module:
                found.add(base)
            else:  # ``from .. import app``: the names may be modules
                found.update(f"{base}.{alias.name}" if base else alias.name for alias in node.names)
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def forbidden_edges(repo: Path) -> list[str]:
    """``importer -> imported`` for each import that breaks the layering."""
    problems = []
    for folder in ("bot", "indexer", "adapters"):
        for path in sorted((repo / folder).rglob("*.py")):
            module = module_name(path, repo)
            if within(module, ROOT):
                continue  # the composition root may import everything
            for imported in sorted(imported_modules(path, module)):
                for importer, target in FORBIDDEN:
                    if within(module, importer) and within(imported, target):
                        problems.append(f"{module} -> {imported}")
    return sorted(set(problems))


def test_the_core_and_the_indexer_never_import_what_sits_above_them() -> None:
    assert forbidden_edges(REPO) == []


def test_the_composition_root_exists_and_is_what_the_command_runs() -> None:
    assert (REPO / "bot" / "app" / "cli.py").is_file()
    assert 'ragbot = "bot.app.cli:main"' in (REPO / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("path", "source", "edge"),
    [
        ("bot/chat.py", "def reindex():\n    from indexer.runner import run_index\n", "bot.chat -> indexer.runner"),
        ("bot/config.py", "import adapters.slack\n", "bot.config -> adapters.slack"),
        (
            "bot/logs.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from indexer import config\n",
            "bot.logs -> indexer",
        ),
        ("indexer/sources/files.py", "from ...adapters import slack\n", "indexer.sources.files -> adapters"),
        ("bot/store/__init__.py", "from ..app import build\n", None),  # bot -> bot.app is not forbidden here
    ],
)
def test_hidden_imports_are_found(tmp_path: Path, path: str, source: str, edge: str | None) -> None:
    target = tmp_path / path
    target.parent.mkdir(parents=True)
    target.write_text(source)
    for folder in ("bot", "indexer", "adapters"):
        (tmp_path / folder).mkdir(exist_ok=True)

    assert forbidden_edges(tmp_path) == ([edge] if edge else [])


# -- the tests' own layout -------------------------------------------------------------------
TESTS = REPO / "tests"


def test_every_test_module_is_a_unit_test_or_a_scenario() -> None:
    stray = [
        p.relative_to(REPO).as_posix() for p in TESTS.rglob("test_*.py") if p.parent.name not in ("unit", "scenarios")
    ]
    assert stray == [], (
        f"move these into tests/unit/ (one part, in-process) or tests/scenarios/ (a user's path): {stray}"
    )


def test_test_modules_import_helpers_from_support_never_from_each_other() -> None:
    crossing = {
        f"{path.relative_to(REPO).as_posix()} imports {name}"
        for path in TESTS.rglob("*.py")
        for name in imported_modules(path, module_name(path, REPO))
        if name.startswith(("tests.unit", "tests.scenarios", "test_", "conftest", "tests.conftest"))
    }
    assert not crossing, f"put shared helpers in tests/support/: {sorted(crossing)}"
