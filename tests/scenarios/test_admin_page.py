"""The /admin page over real HTTP on 127.0.0.1: off without a token, log-in, sessions, CSRF, the
login limit, and what the page shows from a seeded question log (the browser test drives it too)."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.app.admin import IndexAdmin
from bot.chatstate import SqliteChatState
from bot.core import RagCore
from bot.webadmin import AdminSite
from tests.support.fakeserver import LoopThread
from tests.support.insights_seed import GYM, HR_ONLY, seed

TOKEN = "admin-token-for-tests-7f3a9c"


class AdminServer:
    """The admin routes alone on an aiohttp server, over the shared index and a seeded log."""

    def __init__(self, loop: LoopThread, core: RagCore, state_dir: Path, token: str | None) -> None:
        self.loop = loop
        self.state = SqliteChatState(state_dir)
        self.site = AdminSite(core, self.state, IndexAdmin(core.settings, core, self.state), token)
        app = web.Application()
        app.add_routes(self.site.routes())
        self.runner = web.AppRunner(app)
        self.port = loop.run(self._start())
        self.url = f"http://127.0.0.1:{self.port}"

    async def _start(self) -> int:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=120)

    def close(self) -> None:
        self.loop.run(self.runner.cleanup())
        self.state.close()


@pytest.fixture()
def admin(loop: LoopThread, core: RagCore, tmp_path: Path) -> Iterator[AdminServer]:
    server = AdminServer(loop, core, tmp_path / "state", TOKEN)
    seed(server.state)
    yield server
    server.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def log_in(client: httpx.Client, token: str = TOKEN, **headers: str) -> httpx.Response:
    form = client.get("/admin/login")
    return client.post("/admin/login", data={"csrf": csrf_of(form.text), "token": token}, headers=headers)


def test_without_a_token_every_admin_path_is_off(loop: LoopThread, core: RagCore, tmp_path: Path) -> None:
    server = AdminServer(loop, core, tmp_path / "off", None)
    try:
        with server.client() as client:
            pages = [client.get(path) for path in ("/admin", "/admin/login", "/admin/gaps.json", "/admin/x")]
            posts = [client.post(path, data={"token": ""}) for path in ("/admin/login", "/admin/reindex")]
    finally:
        server.close()
    assert [r.status_code for r in pages + posts] == [404] * 6
    assert all("The admin page is off" in r.text and "RAGBOT_ADMIN_TOKEN" in r.text for r in pages + posts)


def test_a_short_token_keeps_the_page_off(loop: LoopThread, core: RagCore, tmp_path: Path) -> None:
    server = AdminServer(loop, core, tmp_path / "short", "short")
    try:
        with server.client() as client:
            page = client.get("/admin/login")
    finally:
        server.close()
    assert page.status_code == 404 and "shorter than 12 characters" in page.text


def test_nothing_is_shown_without_a_session(admin: AdminServer) -> None:
    with admin.client() as client:
        page = client.get("/admin")
        data = [client.get(path) for path in ("/admin/gaps.json", "/admin/summary.json")]
        client.cookies.set("ragbot_admin", "9999999999.abc.0123456789abcdef")
        forged = client.get("/admin")
        reindex = client.post("/admin/reindex", data={"source": "handbook", "csrf": "x"})

    assert page.status_code == 303 and page.headers["location"] == "/admin/login"
    assert [r.status_code for r in data] == [401, 401]
    assert all(r.json() == {"error": "log in at /admin/login first"} for r in data)
    assert forged.status_code == 303
    assert reindex.status_code == 401 and GYM[0][1] not in reindex.text
    assert admin.site.running == {} and not admin.site.activity


def test_a_wrong_token_gets_401_and_no_session(admin: AdminServer) -> None:
    with admin.client() as client:
        wrong = log_in(client, "not-the-token-at-all")
        after = client.get("/admin")

    assert wrong.status_code == 401 and "That token is not right." in wrong.text
    assert "ragbot_admin=" not in wrong.headers.get("set-cookie", "").replace("ragbot_admin_login=", "")
    assert "not-the-token-at-all" not in wrong.text and TOKEN not in wrong.text
    assert after.status_code == 303


def test_the_right_token_opens_a_session_with_a_strict_httponly_cookie(admin: AdminServer) -> None:
    with admin.client() as client:
        ok = log_in(client)
        page = client.get("/admin")
    with admin.client() as tls_client:  # behind a TLS-terminating proxy the cookie is Secure too
        behind_tls = log_in(tls_client, **{"X-Forwarded-Proto": "https"})

    assert ok.status_code == 303 and ok.headers["location"] == "/admin"
    cookie = next(c for c in ok.headers.get_list("set-cookie") if c.startswith("ragbot_admin="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie
    tls_cookie = next(c for c in behind_tls.headers.get_list("set-cookie") if c.startswith("ragbot_admin="))
    assert "Secure" in tls_cookie
    assert page.status_code == 200 and TOKEN not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_posts_without_the_csrf_token_are_refused(admin: AdminServer) -> None:
    with admin.client() as client:
        log_in(client)
        no_token = client.post("/admin/reindex", data={"source": "handbook"})
        wrong = client.post("/admin/reindex", data={"source": "handbook", "csrf": "0" * 40})
        logout = client.post("/admin/logout", data={})
        still_in = client.get("/admin")
        stale_login = httpx.post(f"{admin.url}/admin/login", data={"csrf": "x", "token": TOKEN})

    assert [no_token.status_code, wrong.status_code, logout.status_code] == [403, 403, 403]
    assert "Form refused" in wrong.text and admin.site.running == {} and not admin.site.activity
    assert still_in.status_code == 200
    assert stale_login.status_code == 403 and "ragbot_admin=" not in stale_login.headers.get("set-cookie", "")


def test_login_attempts_are_limited(admin: AdminServer) -> None:
    with admin.client() as client:
        tries = [log_in(client, f"guess-number-{i}").status_code for i in range(5)]
        blocked = log_in(client)  # even the right token waits now

    assert tries == [401] * 5
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "ragbot_admin=" not in blocked.headers.get("set-cookie", "")


def test_logout_ends_the_session(admin: AdminServer) -> None:
    with admin.client() as client:
        log_in(client)
        csrf = csrf_of(client.get("/admin").text)
        out = client.post("/admin/logout", data={"csrf": csrf})
        session = dict(client.cookies)
    with admin.client() as replay:  # the old cookie, sent again
        replay.cookies.set("ragbot_admin", session.get("ragbot_admin", "none"))
        again = replay.get("/admin")
    assert out.status_code == 303 and again.status_code == 303


def test_the_page_shows_the_log_the_gaps_and_the_sources(admin: AdminServer) -> None:
    with admin.client() as client:
        log_in(client)
        page = client.get("/admin").text
        by_count = client.get("/admin", params={"sort": "count", "order": "asc"}).text
        gaps = client.get("/admin/gaps.json").json()
        summary = client.get("/admin/summary.json").json()

    bars = re.findall(r'<g class="day" data-day="([\d-]+)" data-total="(\d+)"', page)
    assert len(bars) == 30 and sum(int(total) for _, total in bars) == 14  # the 60-day-old question is out
    assert 'id="stat-questions">14<' in page
    titles = re.findall(r'<strong class="gap-title">([^<]+)</strong>', page)
    counts = [int(n) for n in re.findall(r'<td class="num count">(\d+)</td>', by_count)]
    assert len(titles) == 4 and counts == sorted(counts) and counts[-1] == 5
    assert "🔒 hr, public" in page and HR_ONLY[1] in page  # admins see restricted questions, marked
    assert 'data-source="handbook"' in page and "Reindex</button>" in page
    assert [g["representative"] for g in gaps["gaps"]][:1] == [GYM[0][1]]
    assert summary["questions"] == 14 and summary["outcomes"]["refused"] == 9 and summary["votes"]["down"] == 2
    assert summary["latency_ms"]["p50"] > 0 and len(summary["per_day"]) == 30


def test_reindex_from_the_page_runs_and_is_reported(admin: AdminServer) -> None:
    with admin.client() as client:
        log_in(client)
        csrf = csrf_of(client.get("/admin").text)
        pressed = client.post("/admin/reindex", data={"source": "handbook", "csrf": csrf})
        deadline = time.monotonic() + 120
        while admin.site.running and time.monotonic() < deadline:
            time.sleep(0.2)
        page = client.get("/admin").text

    assert pressed.status_code == 303 and pressed.headers["location"] == "/admin#sources"
    assert "Reindex of handbook started." in page and "Reindex finished: handbook: done" in page
    assert re.search(r'<tr class="run"><td>[^<]+</td><td>handbook</td>', page)


def test_the_training_panel_lists_models_and_refuses_one_trained_for_another_index(
    admin: AdminServer, core: RagCore
) -> None:
    version = core.settings.data_dir / "models" / "query-7"
    (version / "encoder").mkdir(parents=True, exist_ok=True)
    meta = {
        "name": "query-7",
        "created_at": "2026-11-30T10:00:00Z",
        "document_model": "some-other-model",
        "pairs": {"heading": 120, "feedback": 4},
        "heldout": {"before": {"mrr@10": 0.61}, "after": {"mrr@10": 0.66}},
        "activated": False,
        "reason": "held-out MRR@10 improved",
    }
    (version / "meta.json").write_text(json.dumps(meta))
    try:
        with admin.client() as client:
            log_in(client)
            page = client.get("/admin").text
            pressed = client.post("/admin/training/activate", data={"model": "query-7", "csrf": csrf_of(page)})
            after = client.get("/admin").text
    finally:
        shutil.rmtree(version)

    assert "<strong>query-7</strong>" in page and "0.610 → 0.660" in page and 'id="active-encoder">base<' in page
    assert pressed.status_code == 303 and pressed.headers["location"] == "/admin#training"
    assert "Activate query-7 refused:" in after and "some-other-model" in after
    assert 'id="active-encoder">base<' in after
