"""The slack source against a fake Slack Web API on 127.0.0.1, through the real slack-sdk WebClient."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from bot.app.settings import AppSettings, load_settings
from bot.embedder import Embedder
from tests.support.fake_slack_history import BOT_USER, EXPERT, FakeSlackHistory
from tests.support.project import index_once, write_config
from tests.support.stored import stored_chunks, stored_ids

TOKEN = "xoxb-1111-2222-secretsecret"
HELP, PRIVATE = "C0HELPDESK", "G0SECRETS1"


@pytest.fixture()
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackHistory]:
    fake = FakeSlackHistory()
    fake.valid_tokens = {TOKEN}
    fake.channel(HELP, "help-infra")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    yield fake
    fake.close()


def seed(slack: FakeSlackHistory) -> dict[str, str]:
    """Four threads: two resolved (a ✅ on the answer, an expert reply), one open, one the bot answered."""
    vpn = slack.post(HELP, "UASKER", "How do I reset my VPN token?")
    slack.reply(HELP, vpn, "UOTHER", "Maybe ask IT?")
    answer = slack.reply(HELP, vpn, "UHELPER", "Run `vpnctl reset` and scan the new QR code.")
    slack.react(HELP, answer, "white_check_mark")
    db = slack.post(HELP, "UASKER", "Which port does the orders database use?")
    slack.reply(HELP, db, EXPERT, "Port 6432, through pgbouncer.")
    open_question = slack.post(HELP, "UASKER", "Is the wiki down?")
    slack.reply(HELP, open_question, "UOTHER", "Works for me.")
    bot = slack.post(HELP, "UASKER", "<@UBOT> where are the deploy docs?")
    slack.reply(HELP, bot, BOT_USER, "The deploy docs are in the handbook [1].", bot=True)
    slack.react(HELP, bot, "white_check_mark")  # resolved, but only the bot answered: nothing to learn
    return {"vpn": vpn, "db": db, "open": open_question, "bot": bot}


def slack_settings(
    tmp_path: Path, slack: FakeSlackHistory, channels: str = f'["{HELP}"]', extra: str = ""
) -> AppSettings:
    return load_settings(
        write_config(
            tmp_path,
            f"""data_dir = "{tmp_path / "data"}"
[[sources]]
name = "answers"
type = "slack"
base_url = "{slack.url}/api/"
channels = {channels}
expert_groups = ["SEXPERTS"]
timeout_s = 5
retries = 2
{extra}
""",
        )
    )


def test_first_sync_through_a_429_and_a_503_indexes_resolved_threads_only_never_the_bots_answers(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder
) -> None:
    threads = seed(slack)
    settings = slack_settings(tmp_path, slack)
    slack.throttle(1, retry_after=1)
    slack.burst(1, 503)

    report = index_once(settings, embedder)

    assert stored_ids(settings, "answers") == {f"answers:{HELP}:{threads['vpn']}", f"answers:{HELP}:{threads['db']}"}
    assert report.added == 2 and report.errors == [] and slack.statuses()[:3] == [429, 503, 200]
    question, answer = stored_chunks(settings, f"answers:{HELP}:{threads['vpn']}")
    permalink = f"https://acme.slack.com/archives/{HELP}/p{threads['vpn'].replace('.', '')}"
    assert question.url == answer.url == permalink and answer.title == "How do I reset my VPN token?"
    assert (question.section, answer.section) == ("#help-infra > Question", "#help-infra > Answer")
    assert "vpnctl reset" in answer.text and "Maybe ask IT?" not in answer.text  # the accepted answer only
    db = stored_chunks(settings, f"answers:{HELP}:{threads['db']}")
    assert "Port 6432, through pgbouncer." in db[-1].text


def test_a_sync_with_no_changes_reads_only_the_channel_history(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder
) -> None:
    seed(slack)
    settings = slack_settings(tmp_path, slack)
    index_once(settings, embedder)
    slack.clear_log()

    report = index_once(settings, embedder)

    assert report.unchanged == 2 and report.chunks_embedded == 0
    assert slack.calls("conversations.replies") == [] and slack.calls("chat.getPermalink") == []
    (history,) = slack.calls("conversations.history")
    oldest = float(dict(parse_qsl(history.body.decode()))["oldest"])
    assert time.time() - 31 * 86_400 < oldest  # the watched window, not the first sync's year


def test_an_edit_a_new_resolved_thread_and_a_deletion_give_one_each(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder
) -> None:
    threads = seed(slack)
    settings = slack_settings(tmp_path, slack)
    index_once(settings, embedder)
    slack.edit(HELP, threads["db"], "Which port does the orders database (prod) use?")
    slack.react(HELP, threads["open"], "white_check_mark")  # the asker marks "Works for me." as enough
    slack.delete(HELP, threads["vpn"])  # a parent with replies leaves a tombstone

    report = index_once(settings, embedder)

    assert (report.added, report.updated, report.deleted) == (1, 1, 1)
    assert stored_ids(settings, "answers") == {f"answers:{HELP}:{threads['db']}", f"answers:{HELP}:{threads['open']}"}
    assert "(prod)" in stored_chunks(settings, f"answers:{HELP}:{threads['db']}")[0].text
    assert slack.calls("conversations.replies")  # the edited question was read again


def test_an_outage_deletes_nothing(tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder) -> None:
    seed(slack)
    settings = slack_settings(tmp_path, slack)
    index_once(settings, embedder)
    slack.down = True

    report = index_once(settings, embedder)

    assert report.failed and report.deleted == 0 and len(stored_ids(settings, "answers")) == 2
    assert report.errors == ["source 'answers': auth.test failed (service_unavailable); nothing was changed"]


def test_a_revoked_token_gives_one_clear_line_without_the_secret(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(slack)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-9999-revoked-token")

    report = index_once(slack_settings(tmp_path, slack), embedder)

    assert report.errors == [
        "source 'answers': Slack refused the token (invalid_auth): check SLACK_BOT_TOKEN; nothing was changed"
    ]
    assert "xoxb" not in (tmp_path / "data" / "runs.jsonl").read_text()


def test_a_private_channel_needs_explicit_sets(tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder) -> None:
    slack.channel(PRIVATE, "security")
    slack.channels[PRIVATE]["is_private"] = True
    question = slack.post(PRIVATE, "UASKER", "Where is the incident key escrow?")
    slack.reply(PRIVATE, question, EXPERT, "In the HSM, ask #sec-oncall.")
    both = f'["{HELP}", "{PRIVATE}"]'
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()

    implicit = index_once(slack_settings(tmp_path / "a", slack, channels=both), embedder)
    explicit_settings = slack_settings(tmp_path / "b", slack, channels=both, extra='sets = ["security"]')
    explicit = index_once(explicit_settings, embedder)

    assert implicit.added == 0 and implicit.errors == [
        f"channel {PRIVATE}: is private: index it only with `sets = [...]` written out in the source, naming who "
        "may read it; its threads are kept as they are"
    ]
    assert explicit.added == 1 and explicit.errors == []


def test_a_thread_deleted_between_listing_and_reading_is_left_out(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder
) -> None:
    threads = seed(slack)
    slack.before(
        lambda r: r.path.endswith("conversations.replies") and threads["db"].encode() in r.body,
        lambda: slack.channels[HELP]["messages"].remove(slack._find(HELP, threads["db"])),
    )
    settings = slack_settings(tmp_path, slack)

    report = index_once(settings, embedder)

    assert report.added == 1 and report.errors == []
    assert stored_ids(settings, "answers") == {f"answers:{HELP}:{threads['vpn']}"}


def test_a_long_channel_is_paged_and_a_channel_the_bot_left_keeps_its_threads(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder
) -> None:
    seed(slack)
    for n in range(450):  # chatter: 3 pages of history at 200 a page
        slack.post(HELP, "UOTHER", f"good morning {n}")
    settings = slack_settings(tmp_path, slack)
    index_once(settings, embedder)
    assert len(slack.calls("conversations.history")) == 3
    slack.channels[HELP]["member"] = False

    report = index_once(settings, embedder)

    assert report.deleted == 0 and len(stored_ids(settings, "answers")) == 2
    assert report.errors == [
        f"channel {HELP}: conversations.history failed (not_in_channel); its threads are kept as they are"
    ]


def test_a_check_mark_on_an_answer_is_found_when_open_threads_are_rechecked(
    tmp_path: Path, slack: FakeSlackHistory, embedder: Embedder
) -> None:
    threads = seed(slack)
    settings = slack_settings(tmp_path, slack, extra="recheck_hours = 0")
    index_once(settings, embedder)
    works = slack.channels[HELP]["messages"][2]["_replies"][0]["ts"]  # "Works for me." on the open thread
    slack.react(HELP, works, "white_check_mark")  # invisible in the channel history

    report = index_once(settings, embedder)

    assert report.added == 1 and f"answers:{HELP}:{threads['open']}" in stored_ids(settings, "answers")
