"""The admin page in a real browser: Debian's Chromium driven by Playwright against `ragbot serve`
on 127.0.0.1, with a seeded question log. A wrong token is refused, the right one logs in, the
chart is drawn, the gaps table sorts, Reindex runs and its run appears, the page fits a phone,
and nothing is fetched from anywhere but the bot itself.

Skipped, with the reason, where Playwright or Chromium is missing (``scripts/setup.sh`` installs
both when it runs as root; CI does). ``UPDATE_SCREENSHOTS=1`` also writes the screenshots to
``docs/`` for the README.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.settings import load_settings
from bot.chatstate import SqliteChatState
from tests.support.fake_slack import FakeSlack
from tests.support.insights_seed import GYM, seed, seed_history
from tests.support.processes import start_serve
from tests.support.project import REPO
from tests.support.serving import free_port, slack_env, wait_healthy

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))  # another build: set CHROMIUM_PATH
TOKEN = "browser-admin-token-2c81e0"
SCREENSHOTS = ("admin-overview.png", "admin-phone.png")

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]' installs it)"
)
if not CHROMIUM.is_file():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/setup.sh does it when run as root)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def served(indexed_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`ragbot serve` over the indexed handbook and a seeded log; its base URL."""
    from tests.support.fake_slack import LoopThread

    state = SqliteChatState(load_settings(indexed_config).data_dir)
    seed(state)
    seed_history(state)
    state.close()
    loop = LoopThread()
    fake = FakeSlack()
    loop.run(fake.start())
    port = free_port()
    env = slack_env(port, api_url=fake.url + "/api/", RAGBOT_ADMIN_TOKEN=TOKEN)
    process = start_serve(indexed_config, env)
    try:
        wait_healthy(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        loop.run(fake.stop())
        loop.stop()
        assert TOKEN not in output  # the token never reaches a log line


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield chromium
        chromium.close()


def log_in(page, base: str, token: str):  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin")
    page.fill("#token", token)
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    return navigation.value


def counts(page) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(text) for text in page.locator("td.count").all_inner_texts()]


def test_an_admin_logs_in_reads_the_page_sorts_gaps_and_reindexes(served: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    refused = log_in(page, served, "wrong-token-for-sure")
    assert refused.status == 401 and page.url.endswith("/admin/login")
    expect(page.locator("p.error")).to_have_text("That token is not right.")

    accepted = log_in(page, served, TOKEN)
    assert accepted.status == 200 and page.url.endswith("/admin")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    assert page.locator("svg.chart g.day").count() == 30
    assert page.locator("svg.chart rect.bar-answered").count() >= 25  # a month of traffic, a bar a day
    assert chart.bounding_box()["width"] > 600  # type: ignore[index]
    askers = [int(text) for text in page.locator("td.askers").all_inner_texts()]
    assert askers and askers == sorted(askers, reverse=True)  # most people first
    expect(page.locator("table.gaps")).to_contain_text(GYM[0][1])
    page.screenshot(path=str(tmp_path / SCREENSHOTS[0]), full_page=True)

    page.click("a.sort[data-sort=count]")  # most asked first
    descending = counts(page)
    page.click("a.sort[data-sort=count]")  # and the other way round
    ascending = counts(page)
    assert descending == sorted(descending, reverse=True) and ascending == sorted(ascending)
    assert len(ascending) >= 3 and ascending != descending

    runs_before = page.locator("tr.run").count()
    page.click("button.reindex[data-source=handbook]")
    # The page refreshes itself while the run goes on; the new run appears when it is done.
    expect(page.locator("ul.activity")).to_contain_text("Reindex finished: handbook: done", timeout=120_000)
    expect(page.locator("tr.run")).to_have_count(runs_before + 1, timeout=30_000)
    assert page.locator("span.badge.running").count() == 0

    assert requested and all(url.startswith(served) for url in requested)  # nothing from a CDN
    context.close()


def test_the_page_fits_a_phone(served: str, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    log_in(page, served, TOKEN)

    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1  # wide tables scroll inside their panel, not the page
    assert page.locator("svg.chart").bounding_box()["width"] <= 390  # type: ignore[index]
    assert GYM[0][1] in page.content()
    page.screenshot(path=str(tmp_path / SCREENSHOTS[1]), full_page=False)
    context.close()
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        for name in SCREENSHOTS:
            for shot in tmp_path.parent.glob(f"*/{name}"):
                shutil.copy(shot, REPO / "docs" / name)
