"""The /admin page on the ops HTTP server: aiohttp handlers, Jinja2 templates, no JavaScript.

Everything is rendered on the server (the chart is inline SVG, the gaps table sorts by links), so
the page works offline, behind a firewall and with scripts off. Every route checks the session
first (:mod:`bot.webadmin.auth`); without ``RAGBOT_ADMIN_TOKEN`` each one answers 404 with a
page saying how to turn it on. Reindex runs in the background through the :class:`AdminOps` the
chat uses, so its per-source locks keep it apart from scheduled and chat runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from jinja2 import Environment, FileSystemLoader, select_autoescape
from multidict import MultiDictProxy

from bot.admin import AdminOps
from bot.chatstate import ChatState
from bot.core import RagCore
from bot.errors import RagbotError
from bot.insights.report import gap_report, parse_since
from bot.logs import redact
from bot.webadmin.auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_TTL_S, AdminAuth, LoginLimiter, Session
from bot.webadmin.helpers import (
    HEADERS,
    WINDOWS,
    activate_model,
    dumps,
    redirect,
    roll_back,
    tls,
    when,
    window,
)
from bot.webadmin.views import GAP_SORTS, PageData, load_page_data, safe_link, sort_gaps

__all__ = ["AdminSite"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Form = MultiDictProxy[str | bytes | bytearray | FileField]


class AdminSite:
    def __init__(self, core: RagCore, state: ChatState, admin: AdminOps | None, token: str | None) -> None:
        self.core = core
        self.state = state
        self.admin = admin
        self.auth = AdminAuth(token)
        self.limiter = LoginLimiter()
        self.running: dict[str, float] = {}  # source -> when its reindex started
        self.activity: deque[tuple[float, str]] = deque(maxlen=20)  # what admins did, newest last
        self._tasks: set[asyncio.Task[None]] = set()
        self._templates = Environment(
            loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
        )
        self._templates.filters["when"] = when
        self._templates.globals["safe_link"] = safe_link

    @property
    def enabled(self) -> bool:
        return self.auth.enabled

    def routes(self) -> list[web.RouteDef]:
        page, data, post = self._page, self._json, self._post
        return [
            web.get("/admin", page(self.dashboard)),
            web.get("/admin/", page(self.dashboard)),
            web.get("/admin/login", self.login_form),
            web.post("/admin/login", self.login),
            web.get("/admin/admin.css", self.stylesheet),
            web.get("/admin/gaps.json", data(self.gaps_json)),
            web.get("/admin/summary.json", data(self.summary_json)),
            web.post("/admin/logout", post(self.logout)),
            web.post("/admin/reindex", post(self.reindex)),
            web.post("/admin/training/activate", post(self.activate)),
            web.post("/admin/training/rollback", post(self.rollback)),
            web.get("/admin/{tail:.*}", self.not_found),
        ]

    # -- rendering and guards ------------------------------------------------------------
    def render(self, template: str, status: int = 200, **context: Any) -> web.Response:
        body = self._templates.get_template(template).render(**context)
        return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)

    def _off(self) -> web.Response:
        return self.render("disabled.html", status=404, too_short=self.auth.too_short)

    def _session(self, request: web.Request) -> Session | None:
        return self.auth.session(request.cookies.get(SESSION_COOKIE))

    def _page(self, handler: Callable[[web.Request, Session], Awaitable[web.StreamResponse]]) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.enabled:
                return self._off()
            session = self._session(request)
            if session is None:
                return redirect("/admin/login")
            return await handler(request, session)

        return guarded

    def _json(self, handler: Callable[[web.Request], Awaitable[dict[str, Any]]]) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.enabled:
                return self._off()
            if self._session(request) is None:
                return web.json_response({"error": "log in at /admin/login first"}, status=401, headers=HEADERS)
            return web.json_response(await handler(request), headers=HEADERS, dumps=dumps)

        return guarded

    def _post(self, handler: Callable[[Session, Form], Awaitable[web.StreamResponse]]) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.enabled:
                return self._off()
            session = self._session(request)
            if session is None:
                return self.render("message.html", status=401, title="Log in first", text="Your session ended.")
            form = await request.post()
            if not self.auth.csrf_ok(session, str(form.get("csrf", ""))):
                text = "This form is out of date (or was not sent by this page). Reload the page and try again."
                return self.render("message.html", status=403, title="Form refused", text=text)
            return await handler(session, form)

        return guarded

    async def not_found(self, request: web.Request) -> web.Response:
        if not self.enabled:
            return self._off()
        return self.render("message.html", status=404, title="Not found", text="There is no such admin page.")

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        if not self.enabled:
            return self._off()
        return web.FileResponse(_HERE / "static" / "admin.css", headers={**HEADERS, "Cache-Control": "max-age=300"})

    # -- login ---------------------------------------------------------------------------
    async def login_form(self, request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
        if not self.enabled:
            return self._off()
        if error is None and self._session(request) is not None:
            return redirect("/admin")
        nonce, csrf = self.auth.login_form()
        response = self.render("login.html", status=status, csrf=csrf, error=error)
        response.set_cookie(
            LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", secure=tls(request), path="/admin", max_age=3600
        )
        return response

    async def login(self, request: web.Request) -> web.Response:
        if not self.enabled:
            return self._off()
        client = request.remote or "unknown"
        wait = self.limiter.wait_s(client)
        if wait is not None:
            response = self.render(
                "message.html", status=429, title="Too many attempts", text=f"Try again in {wait} s."
            )
            response.headers["Retry-After"] = str(wait)
            return response
        form = await request.post()
        if not self.auth.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), str(form.get("csrf", ""))):
            return await self.login_form(request, "The form expired; enter the token again.", status=403)
        if not self.auth.check_token(str(form.get("token", ""))):
            self.limiter.failed(client)
            log.warning("admin page: a wrong token from %s", client)
            return await self.login_form(request, "That token is not right.", status=401)
        cookie, _ = self.auth.new_session()
        response = redirect("/admin")
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            httponly=True,
            samesite="Strict",
            secure=tls(request),
            path="/admin",
            max_age=SESSION_TTL_S,
        )
        response.del_cookie(LOGIN_COOKIE, path="/admin")
        log.info("admin page: logged in from %s", client)
        return response

    async def logout(self, session: Session, form: Form) -> web.Response:
        self.auth.end(session)
        response = redirect("/admin/login")
        response.del_cookie(SESSION_COOKIE, path="/admin")
        return response

    # -- pages and data ------------------------------------------------------------------
    async def dashboard(self, request: web.Request, session: Session) -> web.Response:
        days = window(request.query.get("days"))
        sort = request.query.get("sort", "askers")
        sort = sort if sort in GAP_SORTS else "askers"
        descending = request.query.get("order", "desc") != "asc"
        data: PageData = await asyncio.to_thread(load_page_data, self.core, self.state, self.admin, days=days)
        return self.render(
            "admin.html",
            data=data,
            gaps=sort_gaps(data.gaps.gaps, sort, descending),
            sort=sort,
            descending=descending,
            windows=WINDOWS,
            csrf=session.csrf,
            running=sorted(self.running),
            refresh=3 if self.running else None,  # the page follows a reindex until it is done
            activity=list(reversed(self.activity)),
            o=data.overview,
        )

    async def gaps_json(self, request: web.Request) -> dict[str, Any]:
        """``ragbot gaps --json``, as a page: the same function, the same shape."""
        try:
            since_s = parse_since(request.query.get("since", "30d"))
        except RagbotError as exc:
            raise web.HTTPBadRequest(text=str(exc), headers=HEADERS) from None
        report = await asyncio.to_thread(gap_report, self.core, self.state, since_s=since_s)
        return report.to_json()

    async def summary_json(self, request: web.Request) -> dict[str, Any]:
        data = await asyncio.to_thread(
            load_page_data, self.core, self.state, self.admin, days=window(request.query.get("days"))
        )
        o = data.overview
        return {
            "days": data.days,
            "questions": o.total,
            "outcomes": o.outcomes,
            "rates": {**{k: round(o.rate(k), 4) for k in o.outcomes}, "up": round(o.up_rate, 4)}
            | {"down": round(o.down_rate, 4)},
            "votes": {"up": o.up, "down": o.down},
            "escalated": o.escalated,
            "latency_ms": {"p50": o.latency_p50_ms, "p95": o.latency_p95_ms},
            "per_day": [{"day": d.day, "answered": d.answered, "refused": d.refused, "other": d.other} for d in o.days],
            "sources": [s.to_json() for s in data.status.sources] if data.status else None,
        }

    # -- actions -------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.activity.append((time.time(), redact(text)))

    async def reindex(self, session: Session, form: Form) -> web.Response:
        name = str(form.get("source", ""))
        known = {s.name for s in self.core.settings.sources}
        if self.admin is None:
            self._note("Reindex is not available in this process.")
        elif name not in known:
            self._note(f"Reindex refused: no source is called {name!r}.")
        elif name in self.running:
            self._note(f"Reindex of {name} is already running.")
        else:
            self.running[name] = time.time()
            self._note(f"Reindex of {name} started.")
            task = asyncio.create_task(self._reindex(self.admin, name))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return redirect("/admin#sources")

    async def _reindex(self, admin: AdminOps, name: str) -> None:
        try:
            for record in await asyncio.to_thread(admin.reindex, name):
                self._note(f"Reindex finished: {record.summary()}")
        except RagbotError as exc:  # already running elsewhere, store down: say so on the page
            self._note(f"Reindex of {name} did not run: {exc}")
        except Exception as exc:
            log.exception("admin page: reindex of %s failed", name)
            self._note(f"Reindex of {name} failed: unexpected {type(exc).__name__}; see the logs.")
        finally:
            self.running.pop(name, None)

    async def activate(self, session: Session, form: Form) -> web.Response:
        name = str(form.get("model", ""))
        await self._train_switch(lambda: activate_model(self.core, name), f"Activate {name}")
        return redirect("/admin#training")

    async def rollback(self, session: Session, form: Form) -> web.Response:
        await self._train_switch(lambda: roll_back(self.core), "Roll back")
        return redirect("/admin#training")

    async def _train_switch(self, switch: Callable[[], str], what: str) -> None:
        try:
            self._note(f"{what}: query encoder now {await asyncio.to_thread(switch)}.")
        except RagbotError as exc:
            self._note(f"{what} refused: {exc}")
