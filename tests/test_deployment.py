"""The Docker files, checked without a Docker engine: every command, variable and healthcheck is real."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml
from conftest import REPO

from bot.app.cli import build_parser
from bot.app.settings import ENV_OVERRIDES
from bot.logs import SECRET_ENV_VARS

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
RAGBOT_SERVICES = ("bot", "indexer")
# Read by libraries or by Python and pip in the image, not by ragbot's own code.
LIBRARY_ENV = {"HF_HUB_OFFLINE"}
IMAGE_ENV = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}


def env_read_by_the_app() -> set[str]:
    """Every variable ragbot's code reads: os.environ lookups, the config overrides, the secrets list."""
    names = set(ENV_OVERRIDES) | set(SECRET_ENV_VARS)
    pattern = re.compile(r"""(?:environ\.get|environ\[|getenv|_ids)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
    for folder in ("bot", "adapters", "indexer"):
        for path in (REPO / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def test_ragbot_services_run_real_cli_commands() -> None:
    parser = build_parser()
    assert SERVICES["bot"]["command"] == ["serve", "--no-scheduler"]
    assert SERVICES["indexer"]["command"][0] == "scheduler"
    for name in RAGBOT_SERVICES:
        args = parser.parse_args(SERVICES[name]["command"])  # SystemExit on an unknown command or flag
        assert args.command == SERVICES[name]["command"][0]


def test_every_variable_passed_to_ragbot_is_one_it_reads() -> None:
    known = env_read_by_the_app() | LIBRARY_ENV
    for name in RAGBOT_SERVICES:
        passed = set(SERVICES[name]["environment"])
        assert passed <= known, f"{name} passes variables ragbot never reads: {sorted(passed - known)}"
    dockerfile_env = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)=", (REPO / "Dockerfile").read_text(), re.M))
    assert dockerfile_env - IMAGE_ENV <= known, sorted(dockerfile_env - IMAGE_ENV - known)


def test_env_example_lists_every_interpolated_variable() -> None:
    compose_text = (REPO / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))
    example = {
        line.split("=", 1)[0]
        for line in (REPO / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert interpolated <= example, sorted(interpolated - example)
    assert "COMPOSE_PROFILES" in example


def test_every_service_has_a_healthcheck_and_qdrant_is_pinned() -> None:
    for name, service in SERVICES.items():
        merged = {**COMPOSE.get("x-qdrant-node", {}), **service} if name.startswith("qdrant-node") else service
        assert merged.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        image = merged.get("image", "")
        if "qdrant/qdrant" in image:
            assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", image), image
    assert "/readyz" in " ".join(SERVICES["bot"]["healthcheck"]["test"])


def test_cluster_profile_runs_three_qdrant_nodes_in_distributed_mode() -> None:
    nodes = [n for n in SERVICES if n.startswith("qdrant-node")]
    assert len(nodes) == 3
    for node in nodes:
        assert SERVICES[node]["environment"]["QDRANT__CLUSTER__ENABLED"] == "true"
        assert "cluster" in COMPOSE["x-qdrant-node"]["profiles"]
    assert "--bootstrap" not in SERVICES["qdrant-node1"]["command"]
    for node in ("qdrant-node2", "qdrant-node3"):
        command = SERVICES[node]["command"]
        assert command[command.index("--bootstrap") + 1] == "http://qdrant-node1:6335"
    assert SERVICES["qdrant"]["profiles"] == ["single"]


def test_secrets_come_from_the_environment_only() -> None:
    for name in RAGBOT_SERVICES:
        for key, value in SERVICES[name]["environment"].items():
            if key in SECRET_ENV_VARS:
                assert str(value).startswith("${"), f"{name}.{key} must come from .env, not the file"
    for line in (REPO / ".env.example").read_text().splitlines():
        key, _, value = line.partition("=")
        if key in SECRET_ENV_VARS and key != "QDRANT_API_KEY":
            assert value == "", f".env.example must not hold a value for {key}"


@pytest.mark.parametrize("instruction", ["USER ragbot", "HEALTHCHECK", "ARG TORCH_INDEX=cpu", 'ENTRYPOINT ["ragbot"]'])
def test_dockerfile_runs_as_non_root_with_cpu_torch_by_default(instruction: str) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert instruction in dockerfile
    torch_line = next(line for line in dockerfile.splitlines() if "pip install" in line and "torch" in line)
    assert "download.pytorch.org/whl/${TORCH_INDEX}" in torch_line
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    assert build_parser().parse_args(shlex.split(cmd[4:].strip("[]").replace('"', "").replace(",", " ")))
