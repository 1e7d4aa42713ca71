"""The Docker files, checked without a Docker engine: every command, variable and healthcheck is real."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from bot.app.cli import build_parser
from bot.app.settings import ENV_OVERRIDES
from bot.logs import SECRET_ENV_VARS
from tests.support.project import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
RAGBOT_SERVICES = ("bot", "indexer")
# Read by libraries or by Python and pip in the image, not by ragbot's own code.
LIBRARY_ENV = {"HF_HUB_OFFLINE"}
IMAGE_ENV = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PIP_NO_CACHE_DIR", "PIP_DISABLE_PIP_VERSION_CHECK"}


def env_read_by_the_app() -> set[str]:
    """Every variable ragbot's code reads: os.environ lookups, the config overrides, the secrets list,
    and the connectors' default credential variables (``token_env: str = "NOTION_TOKEN"``)."""
    names = set(ENV_OVERRIDES) | set(SECRET_ENV_VARS)
    pattern = re.compile(r"""(?:environ\.get|environ\[|getenv|_ids|_env: str =)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")
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


# -- an admin's first hour: own docs, private git, public HTTPS ----------------------------------
GIT_OVERRIDES = sorted((REPO / "deploy").glob("compose.git-*.yml"))
# Read by git itself (or, GIT_USERNAME, by the credential helper the override configures).
GIT_ENV = re.compile(r"GIT_SSH_COMMAND|GIT_CONFIG_COUNT|GIT_CONFIG_(KEY|VALUE)_\d+|GIT_USERNAME")


def test_the_docs_folder_is_mounted_read_only_at_docs_in_both_services() -> None:
    for name in RAGBOT_SERVICES:
        mounts = [v for v in SERVICES[name]["volumes"] if ":/docs" in v]
        assert mounts == ["${RAGBOT_DOCS_DIR:-./samples/handbook}:/docs:ro"], (name, mounts)
    readme = (REPO / "README.md").read_text()
    assert 'path = "/docs"' in readme and "RAGBOT_DOCS_DIR" in readme


def test_the_https_profile_puts_caddy_in_front_of_the_slack_route_only() -> None:
    caddy = SERVICES["caddy"]
    assert caddy["profiles"] == ["https"] and re.fullmatch(r"caddy:\d+\.\d+\.\d+-alpine", caddy["image"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    caddyfile = (REPO / "deploy" / "Caddyfile").read_text()
    proxied = re.findall(r"handle (\S+) \{\s*reverse_proxy (\S+)", caddyfile)
    assert proxied == [("/slack/events", f"bot:{SERVICES['bot']['environment']['RAGBOT_HTTP_PORT']}")]
    assert 'web.post("/slack/events"' in (REPO / "adapters" / "slack" / "server.py").read_text()
    assert "respond 404" in caddyfile  # /metrics, /readyz and the rest stay private
    assert "{$RAGBOT_PUBLIC_HOST}" in caddyfile and "RAGBOT_PUBLIC_HOST" in caddy["environment"]


@pytest.mark.parametrize("override", GIT_OVERRIDES, ids=lambda path: path.name)
def test_private_git_credentials_come_from_secret_files_never_the_environment(override) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(override.read_text())
    secrets = data["secrets"]
    assert secrets and all(set(secret) == {"file"} for secret in secrets.values())
    for name, service in data["services"].items():
        assert name in RAGBOT_SERVICES  # both: the indexer's schedules and the bot's chat reindex
        assert set(service["secrets"]) == set(secrets)
        for key, value in service["environment"].items():
            assert GIT_ENV.fullmatch(key), f"{override.name}: {key} is not read by git"
            assert key not in SECRET_ENV_VARS
            for path in re.findall(r"/run/secrets/(\w+)", str(value)):
                assert path in secrets, f"{override.name}: {key} reads a secret the service does not mount"
        assert any("/run/secrets/" in str(value) for value in service["environment"].values())
    assert "secrets/" in (REPO / ".gitignore").read_text().splitlines()


def test_the_image_has_ssh_for_deploy_keys() -> None:
    install = next(line for line in (REPO / "Dockerfile").read_text().splitlines() if "apt-get install" in line)
    assert "openssh-client" in install and "git" in install
