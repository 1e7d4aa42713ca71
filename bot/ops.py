"""Operations endpoints for any ragbot process: GET /healthz, /readyz, /metrics.

``/healthz`` says the process is up; ``/readyz`` says it can answer (store reachable,
collection present, encoder loaded), so a load balancer or Kubernetes only routes to replicas
that are ready; ``/metrics`` is Prometheus text.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from aiohttp import web

from bot import metrics
from bot.core import RagCore
from bot.errors import ConfigError

__all__ = ["ops_routes", "readiness", "serve_http", "start_ops_thread"]

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 5.0


def readiness(core: RagCore) -> dict[str, str]:
    """Each check's result: "ok" or what is wrong."""
    checks: dict[str, str] = {}
    try:
        present = core.store.collection_exists()
        checks["store"] = "ok"
        checks["collection"] = "ok" if present else f"collection {core.settings.collection!r} missing: run an index"
    except Exception as exc:  # the store is down or refuses us: not ready, say why
        checks["store"] = f"unreachable: {exc}"
        checks["collection"] = "unknown"
    checks["model"] = "ok" if core.embedder.loaded else "encoder not loaded yet"
    return checks


def ops_routes(core: RagCore) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(asyncio.to_thread(readiness, core), _READY_TIMEOUT_S)
        except TimeoutError:
            checks = {"store": f"no answer within {_READY_TIMEOUT_S:g} s"}
        ready = all(value == "ok" for value in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
        )

    async def metrics_text(_: web.Request) -> web.Response:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics_text)]


async def _open(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Bind and start serving ``app``; ConfigError if the port is taken."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise _bind_error(host, port, exc) from None
    log.info("HTTP on http://%s:%s (/healthz, /readyz, /metrics)", host, port)
    return runner


async def serve_http(app: web.Application, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` until ``stop`` is set."""
    runner = await _open(app, host, port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def start_ops_thread(core: RagCore, host: str, port: int) -> Callable[[], None]:
    """The ops endpoints on an event loop in a thread of their own, for processes without one.

    Returns the function that stops the server. Raises ConfigError if the port can't be bound.
    """
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="ops-http", daemon=True).start()
    app = web.Application()
    app.add_routes(ops_routes(core))
    try:
        runner = asyncio.run_coroutine_threadsafe(_open(app, host, port), loop).result(timeout=30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        raise

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)

    return stop


def _bind_error(host: str, port: int, exc: BaseException) -> ConfigError:
    return ConfigError(f"cannot serve HTTP on {host}:{port} ({exc}); set RAGBOT_HTTP_PORT to a free port")
