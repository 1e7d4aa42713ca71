"""`ragbot doctor` on the connector sources (confluence, notion, gdrive, slack) against the fake
platforms on 127.0.0.1: good credentials are accepted, refused or missing ones name the variable
to fix and never show a secret, a rate limit is a warning, an unreachable server says so, and an
object the credentials cannot read (a space, a root page, a folder, a channel) is named."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app.doctor.findings import Finding
from bot.app.doctor.sources import check_source
from bot.app.settings import load_settings
from tests.support.fake_confluence import FakeConfluence, Page
from tests.support.fake_google import FOLDER, DriveFile, FakeGoogle
from tests.support.fake_notion import FakeNotion, text_block, uid
from tests.support.fake_slack_history import FakeSlackHistory
from tests.support.processes import run_cli
from tests.support.project import write_config

EMAIL, CONFLUENCE_TOKEN = "bot@acme.example", "ATATT-doctor-secret-123"
NOTION_TOKEN = "ntn_doctor_secret_456"
SLACK_TOKEN = "xoxb-7777-doctor-secretsecret"
HELP = "C0HELPDESK"
ROOT_FOLDER = "fold0root"
SECRETS = (CONFLUENCE_TOKEN, NOTION_TOKEN, SLACK_TOKEN)


class Fakes(NamedTuple):
    wiki: FakeConfluence
    notion: FakeNotion
    google: FakeGoogle
    slack: FakeSlackHistory


@pytest.fixture()
def fakes(tmp_path: Path) -> Iterator[Fakes]:
    wiki, notion, google, slack = FakeConfluence(), FakeNotion(), FakeGoogle(), FakeSlackHistory()
    wiki.valid_tokens = {f"{EMAIL}:{CONFLUENCE_TOKEN}"}
    wiki.add(Page("1", "Engineering", "ENG", "<p>The engineering space.</p>"))
    notion.valid_tokens = {NOTION_TOKEN}
    notion.add_page(1, "Engineering", [text_block("Welcome.")])
    google.roots.add(ROOT_FOLDER)
    google.add(DriveFile("sub1", "Teams", FOLDER, ROOT_FOLDER))
    (tmp_path / "sa.json").write_text(json.dumps(google.service_account()))
    slack.valid_tokens = {SLACK_TOKEN}
    slack.channel(HELP, "help-infra")
    yield Fakes(wiki, notion, google, slack)
    for fake in (wiki, notion, google, slack):
        fake.close()


def config_for(tmp_path: Path, fakes: Fakes, **overrides: str) -> Path:
    """One source of each connector type, pointed at the fakes; ``overrides`` replace a key's line."""
    lines = {
        "spaces": '["ENG"]',
        "root_pages": f'["{uid(1)}"]',
        "folders": f'["{ROOT_FOLDER}"]',
        "channels": f'["{HELP}"]',
        "confluence_url": f'"{fakes.wiki.base_url()}"',
        **overrides,
    }
    return write_config(
        tmp_path,
        f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "wiki"
type = "confluence"
base_url = {lines["confluence_url"]}
spaces = {lines["spaces"]}
timeout_s = 5

[[sources]]
name = "notion"
type = "notion"
base_url = "{fakes.notion.url}"
root_pages = {lines["root_pages"]}
timeout_s = 5

[[sources]]
name = "drive"
type = "gdrive"
base_url = "{fakes.google.url}"
folders = {lines["folders"]}
credentials_file = "sa.json"
timeout_s = 5

[[sources]]
name = "answers"
type = "slack"
base_url = "{fakes.slack.url}/api/"
channels = {lines["channels"]}
token_env = "RAGBOT_SLACK_READ_TOKEN"
timeout_s = 5
""",
    )


GOOD_ENV = {
    "CONFLUENCE_EMAIL": EMAIL,
    "CONFLUENCE_API_TOKEN": CONFLUENCE_TOKEN,
    "NOTION_TOKEN": NOTION_TOKEN,
    "RAGBOT_SLACK_READ_TOKEN": SLACK_TOKEN,
}


def source_findings(config: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, Finding]:
    """Each source's finding, from the doctor's own source check (in this process: fast)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(str(config))
    return {source.name: check_source(source, settings) for source in settings.sources}


def test_doctor_accepts_good_credentials_and_never_prints_them(tmp_path: Path, fakes: Fakes) -> None:
    config = config_for(tmp_path, fakes)
    report = run_cli("--config", str(config), "doctor", "--json", env=GOOD_ENV, timeout=120)
    text = run_cli("--config", str(config), "doctor", env=GOOD_ENV, timeout=120)

    checks = {c["check"]: c for c in json.loads(report.stdout)["checks"]}
    expected = {
        "source wiki": "Confluence accepts CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN; 1 space(s) have pages",
        "source notion": "Notion accepts NOTION_TOKEN; 1 root page(s)/database(s) readable",
        "source drive": "Google accepts the key in credentials_file; 1 folder(s)/drive(s) readable by ragbot-indexer@",
        "source answers": "Slack accepts RAGBOT_SLACK_READ_TOKEN; 1 channel(s) readable",
    }
    for name, detail in expected.items():
        assert checks[name]["status"] == "ok" and checks[name]["detail"].startswith(detail), checks[name]
        assert any(line.startswith("ok") and name in line and detail[:30] in line for line in text.stdout.splitlines())
    asked = ["/api/auth.test", "/api/conversations.info", "/api/conversations.history"]
    assert [r.path for r, _ in fakes.slack.log] == asked * 2  # one per doctor run
    private_key = fakes.google.service_account()["private_key"]
    for output in (report.stdout, report.stderr, text.stdout, text.stderr):
        assert not any(secret in output for secret in SECRETS) and private_key[40:80] not in output


def test_doctor_names_the_variable_of_refused_credentials_without_the_secret(
    tmp_path: Path, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    revoked = fakes.google.service_account(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    (tmp_path / "sa.json").write_text(json.dumps(revoked))
    for fake in (fakes.wiki, fakes.notion, fakes.slack):
        fake.valid_tokens = {"someone-else"}
    config = config_for(tmp_path, fakes)
    report = run_cli("--config", str(config), "doctor", "--json", env=GOOD_ENV, timeout=120)
    text = run_cli("--config", str(config), "doctor", env=GOOD_ENV, timeout=120)

    checks = {c["check"]: c for c in json.loads(report.stdout)["checks"]}
    expected = {
        "source wiki": ("refused the credentials in CONFLUENCE_EMAIL and CONFLUENCE_API_TOKEN (HTTP 401)", "check"),
        "source notion": ("Notion refused the credentials in NOTION_TOKEN (HTTP 401)", "check NOTION_TOKEN"),
        "source drive": ("refused the service account key in credentials_file (invalid_grant)", "check credentials"),
        "source answers": ("Slack refused the token in RAGBOT_SLACK_READ_TOKEN (invalid_auth)", "OAuth & Permissions"),
    }
    for name, (detail, fix) in expected.items():
        assert checks[name]["status"] == "fail", checks[name]
        assert detail in checks[name]["detail"] and fix in checks[name]["fix"], checks[name]
    assert report.returncode == 1 and text.returncode == 1
    for output in (report.stdout, report.stderr, text.stdout, text.stderr):
        assert not any(secret in output for secret in SECRETS) and revoked["private_key"][40:80] not in output
        assert "PRIVATE KEY" not in output
    # The findings themselves hold no secret: the output's masking is a second line of defence, not the first.
    for finding in source_findings(config, monkeypatch, GOOD_ENV).values():
        assert finding.status == "fail" and not any(s in finding.detail + finding.fix for s in SECRETS), finding


def test_missing_credentials_name_the_variable_and_where_to_get_it(
    tmp_path: Path, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sa.json").unlink()
    config = config_for(tmp_path, fakes).read_text().replace('credentials_file = "sa.json"\n', "")
    for name in (*GOOD_ENV, "CONFLUENCE_PAT", "GDRIVE_SERVICE_ACCOUNT_JSON", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    found = source_findings(write_config(tmp_path, config), monkeypatch, {"CONFLUENCE_EMAIL": EMAIL})

    expected = {
        "wiki": ("CONFLUENCE_API_TOKEN not set (nor CONFLUENCE_PAT)", "API tokens"),
        "notion": ("NOTION_TOKEN is not set", "Internal Integration Secret"),
        "drive": ("neither credentials_file nor GDRIVE_SERVICE_ACCOUNT_JSON is set", "Keys > Add key > JSON"),
        "answers": ("RAGBOT_SLACK_READ_TOKEN is not set", "OAuth & Permissions"),
    }
    for name, (detail, fix) in expected.items():
        assert found[name].status == "fail" and detail in found[name].detail and fix in found[name].fix, found[name]
        assert "CONFLUENCE_EMAIL" not in found[name].detail  # the one that is set is not called missing
    assert all(not fake.log for fake in fakes)


def test_what_the_credentials_cannot_read_is_named(
    tmp_path: Path, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(
        tmp_path,
        fakes,
        spaces='["ENG", "NOPE"]',
        root_pages=f'["{uid(1)}", "{uid(9)}"]',
        folders=f'["{ROOT_FOLDER}", "unshared9"]',
        channels=f'["{HELP}", "C0ELSEWHERE"]',
    )
    fakes.slack.channel("C0ELSEWHERE", "random", member=False)
    found = source_findings(config, monkeypatch, GOOD_ENV)

    expected = {
        "wiki": ("space NOPE: no page this account can read", "space key"),
        "notion": (f"page {uid(9)} is not shared with the integration", "Connections"),
        "drive": ("folder unshared9 not found, or not shared with ragbot-indexer@", "as a Viewer"),
        "answers": ("channel C0ELSEWHERE: not_in_channel", "/invite"),
    }
    for name, (detail, fix) in expected.items():
        assert found[name].status == "fail" and detail in found[name].detail and fix in found[name].fix, found[name]


def test_a_rate_limit_is_a_warning_and_a_server_out_of_reach_a_failure(
    tmp_path: Path, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    config = config_for(tmp_path, fakes, confluence_url=f'"http://127.0.0.1:{closed}/wiki"')
    for fake in (fakes.notion, fakes.slack):
        fake.throttle(5, retry_after=30)
    fakes.google.before(lambda r: r.path == "/drive/v3/files", lambda: fakes.google.throttle(1, 30))
    found = source_findings(config, monkeypatch, GOOD_ENV)

    assert found["wiki"].status == "fail" and f"cannot reach http://127.0.0.1:{closed}/wiki" in found["wiki"].detail
    assert "check the URL (`base_url`), and that this machine reaches it" in found["wiki"].fix
    for name in ("notion", "drive", "answers"):  # answered at once: no 30-second Retry-After waited out
        assert found[name].status == "warn" and "rate limiting this machine (HTTP 429)" in found[name].detail
        assert "run doctor again" in found[name].fix


def test_a_base_url_that_misses_the_api_says_to_check_it(
    tmp_path: Path, fakes: Fakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(tmp_path, fakes, confluence_url=f'"{fakes.wiki.url}"')  # Cloud's /wiki left out
    found = source_findings(config, monkeypatch, GOOD_ENV)

    assert found["wiki"].status == "fail" and found["wiki"].fix == "check `base_url`", found["wiki"]
    assert f"Confluence answered HTTP 404 under {fakes.wiki.url}" in found["wiki"].detail
